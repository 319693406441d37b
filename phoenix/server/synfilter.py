"""Stop a listening socket from taking new connections, keep the queued ones.

Why: on stop, the last process to close a listening socket resets every
connection still in the kernel's accept queue. The workers accept what is
queued before they close, but a handshake that completes between their last
``accept()`` and ``close()`` is reset: the client sent its request and gets
"connection reset by peer", a failure it cannot safely retry (the ops
restart scenario saw 1 in 17,000 requests). Closing that window needs the
kernel to stop queueing new connections while the socket stays open.

A classic BPF socket filter on the listening socket that drops packets with
SYN set and ACK clear does that: a new client's SYN is dropped (it resends
it after its retransmission timeout, ~1 s, and by then meets either the new
process or a closed port: "connection refused", which is safe to retry),
while the final ACK of a handshake already under way and the data of
connections already queued pass, so those are accepted and served. The
filter belongs to the socket, not to the process, so attaching it in the
parent covers every worker that shares the socket.
"""
from __future__ import annotations

import ctypes
import logging
import socket
import struct
import sys

LOG = logging.getLogger(__name__)

SO_ATTACH_FILTER = getattr(socket, 'SO_ATTACH_FILTER', 26)

# cBPF opcodes (linux/filter.h)
_LD_B_ABS = 0x30   # BPF_LD | BPF_B | BPF_ABS
_AND_K = 0x54      # BPF_ALU | BPF_AND | BPF_K
_JEQ_K = 0x15      # BPF_JMP | BPF_JEQ | BPF_K
_RET_K = 0x06      # BPF_RET | BPF_K

_TCP_FLAGS_OFFSET = 13   # a TCP socket's filter sees the packet from the TCP header on
_SYN, _ACK = 0x02, 0x10

# if (tcp.flags & (SYN|ACK)) == SYN: drop; else: keep the whole packet
_PROGRAM = [
    (_LD_B_ABS, 0, 0, _TCP_FLAGS_OFFSET),
    (_AND_K, 0, 0, _SYN | _ACK),
    (_JEQ_K, 0, 1, _SYN),
    (_RET_K, 0, 0, 0),
    (_RET_K, 0, 0, 0xFFFFFFFF),
]
_CODE = ctypes.create_string_buffer(b''.join(struct.pack('HBBI', *op) for op in _PROGRAM))
# struct sock_fprog {unsigned short len; struct sock_filter *filter;}, native alignment
_FPROG = struct.pack('HP', len(_PROGRAM), ctypes.addressof(_CODE))


def refuse_new_connections(sock: socket.socket) -> bool:
    """Drop new connection attempts to ``sock``; queued connections stay.

    Returns False (and the caller closes the socket as before) where the
    kernel offers no socket filters.
    """
    if not sys.platform.startswith('linux'):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, _FPROG)
    except OSError as exc:
        LOG.warning('Could not stop new connections on %s before closing it: %s',
                    sock.getsockname(), exc)
        return False
    return True

"""A private network for a booted box: two namespaces and a veth pair between them.

Why two namespaces: the box lives in one (``phx-xxxxxx``) so its ports never
collide with the host's or with another box's; the other (``phx-xxxxxx-p``,
the *peer*) is where host-side tools run (``ip netns exec <peer> curl ...``)
to reach it. Nothing is added to the host's own network namespace, and the
addresses are link-local (169.254.0.0/16), per the project's network rule.
Two boxes at once each get their own pair, so even equal addresses could not
collide; they still differ to keep logs readable.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from phoenix_rpm import runner

NETNS_DIR = Path("/run/netns")


@dataclasses.dataclass(frozen=True)
class NetPair:
    box_ns: str       # the box's own namespace (nspawn --network-namespace-path)
    peer_ns: str      # where the host side runs its clients
    box_addr: str     # the box's address, reachable from peer_ns
    peer_addr: str

    @property
    def box_ns_path(self) -> Path:
        return NETNS_DIR / self.box_ns


def names_for(box_name: str) -> tuple[str, str]:
    """The two namespace names a box uses (recorded in its lease before creation)."""
    return box_name, f"{box_name}-p"


def addresses_for(subnet: int) -> tuple[str, str]:
    """Link-local addresses: 169.254.N.2 for the box, .1 for the peer side (N in 1..254)."""
    if not 1 <= subnet <= 254:
        raise ValueError(f"subnet {subnet} outside 1..254")
    return f"169.254.{subnet}.2", f"169.254.{subnet}.1"


def create(box_name: str, subnet: int) -> NetPair:
    """Create both namespaces, the veth pair and the addresses; lo up in both."""
    box_ns, peer_ns = names_for(box_name)
    box_addr, peer_addr = addresses_for(subnet)
    tag = box_name.replace("-", "")[:10]          # interface names: max 15 characters
    veth_box, veth_peer = f"v{tag}b", f"v{tag}p"
    runner.run(["ip", "netns", "add", box_ns])
    runner.run(["ip", "netns", "add", peer_ns])
    runner.run(["ip", "link", "add", veth_box, "netns", box_ns, "type", "veth",
                "peer", "name", veth_peer, "netns", peer_ns])
    for ns, dev, addr in ((box_ns, veth_box, box_addr), (peer_ns, veth_peer, peer_addr)):
        runner.run(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev])
        runner.run(["ip", "-n", ns, "link", "set", dev, "up"])
        runner.run(["ip", "-n", ns, "link", "set", "lo", "up"])
    return NetPair(box_ns, peer_ns, box_addr, peer_addr)


def delete(ns: str) -> None:
    """Delete a namespace if it exists (deleting one end removes the veth pair)."""
    if ns in list_names():
        runner.run(["ip", "netns", "delete", ns])
    elif (NETNS_DIR / ns).exists():  # a stale bind-mount file without a live namespace
        os.unlink(NETNS_DIR / ns)


def list_names() -> list[str]:
    proc = runner.run(["ip", "netns", "list"], check=False, capture=True)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]

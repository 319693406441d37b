"""eos-collector: a plain daemon (not phoenix): Type=exec."""
import time


def main():
    while True:
        time.sleep(30)

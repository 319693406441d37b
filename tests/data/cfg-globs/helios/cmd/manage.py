"""helios-manage: a command-line tool."""
import sys


def main():
    print("helios-manage", sys.argv[1:])

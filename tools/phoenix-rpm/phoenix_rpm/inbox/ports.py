"""In the box: print the ports that a config file's option lists, as JSON.

Usage: python3 ports.py CONFIG_FILE SECTION OPTION  ->  [8780, 8781]
(the ops scenarios' Target reads the ports the installed service listens on).
"""
from __future__ import annotations

import configparser
import json
import sys


def ports(config_file: str, section: str, option: str) -> list[int]:
    c = configparser.ConfigParser(interpolation=None, strict=False)
    c.read(config_file)
    sec = c.defaults() if section == "DEFAULT" else c[section]
    return [int(p) for p in sec.get(option, "").replace(",", " ").split()]


if __name__ == "__main__":
    print(json.dumps(ports(sys.argv[1], sys.argv[2], sys.argv[3])))

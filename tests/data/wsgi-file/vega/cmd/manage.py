"""vega-manage: a one-shot tool."""


def main() -> None:
    print("vega-manage")

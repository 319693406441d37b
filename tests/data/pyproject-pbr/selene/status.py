"""selene-status: prints the agent's state."""


def main():
    print("ok")

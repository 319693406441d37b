"""hello-api: print a greeting and exit (enough to check the entry point)."""
import six


def main() -> int:
    print(six.ensure_str("hello"))
    return 0

"""Run oslo-config-generator at install time, leaving out the namespaces the installed code cannot load.

A generator input lists namespaces of optional libraries too (magnum's own
list_opts reads osprofiler's options, a test requirement): the
distributions' specs install them as BuildRequires; the bundled venv holds
only the runtime requirements. Each namespace is tried alone first; one that
fails is left out and named on stderr (the build log), and the file is made
from the rest: a config file with the options the package can really use
(docs/packaging.md "Generated config").

Rules for this file: the spec pastes it through a shell here-document, where
rpm expands macros, so it holds no percent sign; Jinja renders it, so no
brace pair of Jinja's either.
"""
import sys

from oslo_config import cfg, generator


def main(argv: list[str]) -> int:
    conf = cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(argv, project="phoenix-config-generator")
    usable = []
    for namespace in conf.namespace:
        try:
            generator._list_opts([namespace])
        except Exception as exc:  # an optional library missing, or its options broken
            sys.stderr.write("warning: oslo-config-generator: namespace " + namespace + " left out: "
                             + type(exc).__name__ + ": " + str(exc) + "\n")
            continue
        usable.append(namespace)
    if not usable:
        sys.stderr.write("error: oslo-config-generator: no namespace could be loaded\n")
        return 1
    args = ["--output-file", conf.output_file, "--wrap-width", str(conf.wrap_width or 70)]
    args += ["--namespace=" + namespace for namespace in usable]
    if conf.summarize:
        args.append("--summarize")
    if conf.minimal:
        args.append("--minimal")
    generator.main(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

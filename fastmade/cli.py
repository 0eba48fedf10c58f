"""The ``fastmade`` command line."""

import argparse
import sys


def _demo(args):
    from ._demo import run_demo

    run_demo(random_state=args.seed)
    return 0


def build_parser():
    """The argument parser of the ``fastmade`` command."""
    parser = argparse.ArgumentParser(
        prog="fastmade", description="MADE density estimation from the shell."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="fit MADE on the binarised digits and print what it learnt"
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Verbs that read the whole params file: ``validate``, ``grid``."""

from __future__ import annotations

from segsweep.errors import ConfigError, did_you_mean


def cmd_validate(args) -> None:
    from segsweep.config import section_json
    from segsweep.data.inspect import check_volumes
    from segsweep.study import load_params

    params = load_params(args.params)
    check_volumes(params, args.params)
    print(section_json(params) if args.json else f"{args.params}: ok ({len(params.datasets)} datasets)")


def cmd_grid(args) -> None:
    """Print the cell ids (one per line), or those of one study."""
    from segsweep.grid import expand
    from segsweep.study import load_params

    params = load_params(args.params)
    cells, studies = expand(params.train, params.grid, args.params)
    if args.study is not None:
        if args.study not in studies:
            raise ConfigError(
                f"--study {args.study}: no such study{did_you_mean(args.study, studies)}; "
                f"valid: {', '.join(studies) or '(none)'}"
            )
        ids = studies[args.study]
    else:
        ids = list(cells)
    print("\n".join(ids))


def add_verbs(verb) -> None:
    """This stage's subcommands (``verb(name, handler, help)`` adds one)."""
    sp = verb("validate", cmd_validate, "validate params.yaml; --json prints the resolved params", cfg=False)
    sp.add_argument("--json", action="store_true")
    sp = verb("grid", cmd_grid, "print the grid's cell ids, one per line", cfg=False)
    sp.add_argument("--study", help="only the cells of this study")

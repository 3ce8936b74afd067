"""The words the configuration engine uses, defined once.

field       A resolvable setting, named by its dotted key (``benchmark.load.concurrency``).
            Every field is declared in :mod:`aiperf.config.fields`.
scope       The kind of place a value can come from: ``default``, ``recipe``, ``file``,
            ``envelope``, ``env`` or ``cli``.
origin      Where exactly one value came from: a scope plus the file and its line and
            column, the flag name, the environment variable, or the recipe name.
layer       Everything one source says: a scope, a label and a mapping from field keys to
            values, each carrying its origin. One layer per file, one for the
            environment, one for the CLI, one for the active recipe, one for defaults.
explicit    A value the user wrote (file, envelope, environment or CLI), as opposed to
            one supplied by a recipe or a built-in default.
implied     A value no layer gave but a rule derives from other facts (a ``plot:``
            envelope implies ``auto_plot: true``).
rule        One row of a decision table in ``rules/*.yaml``: an id, a condition made of
            named predicates, an outcome and a ``because`` template. First match wins.
hit         The row that decided a field, with its rendered reason.
provenance  For one resolved field: the value, the winning origin, the hit, and every
            layer that was considered with its status (won, overridden, not set).
note        An informational message a notes table attaches to the resolution (for
            example "plot_required is dormant because auto-plot is off").
"""

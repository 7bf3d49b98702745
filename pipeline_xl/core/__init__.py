"""The engine: pure pandas/numpy, no Excel or file-format library, no clock, no global randomness.

Modules, bottom layer first: `errors`, `periods`, `contract` (the workbook's names and
words), `cells` (one cell or column), `model`, `schema` with `validation` (raw tables in,
clean model out), then `history`, `snapshots`, `forecast`, `metrics`, `crm`, `sample`,
`planning`, `variance` and `reports` (the Report value every writer places).
"""

__all__: list[str] = []

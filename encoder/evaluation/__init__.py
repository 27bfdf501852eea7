"""Evaluation: the contract's metrics, query-set builder, runner and report (docs/evaluation.md).

Free of the SQL, index and web layers: `clipshoe eval` (clipshoe/commands/evaluation.py) wires
the scratch index and the API's SearchService into `runner.run_queries` as a search function.
"""

"""The offline plan, render and parity of the Pulumi program: what a stack would create, checked without an engine."""

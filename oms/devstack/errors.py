"""The one error ``oms dev`` reports to people: the stack could not start."""


class StackError(RuntimeError):
    """The stack could not start; the message says what to look at."""

"""The one error the library raises for bad input; the CLI prints it as one line."""


class InputError(Exception):
    """Bad input from the user: the message is one line naming the file and the fix."""

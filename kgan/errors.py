"""The one exception type that the command-line tools turn into a one-line message."""


class UsageError(Exception):
    """Bad input from the user: the message says what is wrong and what to do.

    `kgan.cli.run_cli` prints it as one line and exits with status 2.
    """

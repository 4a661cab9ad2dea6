"""The one exception type that kmeans_lib raises for input it cannot use."""


class InputError(ValueError):
    """Raised when an image, a table or a parameter cannot be used.

    The message is written for the person using the app, not for a programmer:
    it says what is wrong and what to do about it, so it can be shown as is.
    """

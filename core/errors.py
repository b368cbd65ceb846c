"""Domain errors: each says what went wrong in words a cashier can act on."""


class KioskError(Exception):
    """Base of every error the kiosk reports to a person rather than a log."""


class InvalidInput(KioskError):
    """A value typed, scanned or imported has the wrong form."""


class InvalidAmount(InvalidInput):
    """A money amount that is not a non-negative yuan figure with at most two decimals."""


class InvalidPhone(InvalidInput):
    """Not a mainland China mobile number."""


class InvalidCardUid(InvalidInput):
    """A card UID that is not 4, 7 or 10 bytes of hex."""


class NotFound(KioskError):
    """No member, card, sale or product matches."""


class Conflict(KioskError):
    """The change clashes with what is stored (duplicate phone or card)."""


class InsufficientBalance(KioskError):
    """A spend would take points, stored value, visits or stock below zero."""


class ConsentRequired(KioskError):
    """Personal data may be stored only with the member's recorded consent."""

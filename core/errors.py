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


# Pricing, points and checkout:
class RulesError(InvalidInput):
    """A rules or catalog file with a bad key or value; the message names the key."""


class InvalidQuantity(InvalidInput):
    """A basket line whose quantity is not 1 to 999."""


class UnknownProduct(NotFound):
    """A scanned or typed SKU that is not in the catalog."""


class TierReserved(KioskError):
    """A product reserved to a higher member tier (独家购买权)."""


class CouponRejected(KioskError):
    """A coupon that cannot be used on this sale: expired, used, someone else's or below its minimum spend."""


class RedemptionRejected(KioskError):
    """A points redemption below the minimum, above the per-order cap or not a whole redemption step."""


class InsufficientPayment(KioskError):
    """The cash handed over does not cover what is left to pay."""


class ExcessiveCash(InvalidAmount):
    """Cash handed over that exceeds what is left to pay by more than a till gives in change: a typo, not notes."""


class AlreadyRefunded(Conflict):
    """A sale line that has been refunded before; a line is refunded at most once."""


# Policy the commit gateway applies to every use case:
class CardBlocked(KioskError):
    """The card was reported lost; it no longer identifies anyone."""


class MemberErased(KioskError):
    """The member asked for their data to be erased; their account no longer spends or earns."""


class NotAllowed(KioskError):
    """The person at the kiosk may not do this (a cashier where a manager must, a customer where staff must)."""


# Chain sync (the kiosk in a chain of stores):
class SpendRefused(KioskError):
    """Head office refused a spend beyond what this kiosk may spend of the member on its own."""


class SpendOffline(KioskError):
    """A spend beyond this kiosk's allowance while head office cannot be asked; the message says what can be spent."""


class LedgerBehindHub(KioskError):
    """Head office holds events of this kiosk that its ledger lacks (restored from an old backup): nothing may be
    written until `memberkiosk sync restore` brings them back."""


# Fleet management (head office's commands to a kiosk):
class KioskLocked(KioskError):
    """Head office locked this kiosk (the lock screen says why): no sale, refund or top-up until it unlocks it."""

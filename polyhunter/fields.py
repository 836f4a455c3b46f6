"""Model fields shared by every app: money, prices and addresses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from polyhunter.lib.addresses import InvalidAddress, normalize_address


def validate_address(value: str) -> None:
    try:
        normalize_address(value)
    except InvalidAddress as exc:
        raise ValidationError(str(exc), code="invalid_address") from None


class AddressField(models.CharField):  # type: ignore[type-arg]
    """A 0x address, validated and stored lower-case (the form every query compares with)."""

    default_validators = [validate_address]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 42)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return value.strip().lower() if isinstance(value, str) else value

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if isinstance(value, str) and value:
            value = normalize_address(value)
            setattr(model_instance, self.attname, value)
        return value


def MoneyField(**kwargs: Any) -> models.DecimalField:  # type: ignore[type-arg]  # noqa: N802
    """USDC or shares: 6 decimals, like the venue's base units."""
    kwargs.setdefault("max_digits", 24)
    kwargs.setdefault("decimal_places", 6)
    return models.DecimalField(**kwargs)


def PriceField(**kwargs: Any) -> models.DecimalField:  # type: ignore[type-arg]  # noqa: N802
    """A price in (0, 1). Leader prices are VWAPs, so keep more places than the tick."""
    kwargs.setdefault("max_digits", 16)
    kwargs.setdefault("decimal_places", 10)
    return models.DecimalField(**kwargs)


ZERO = Decimal(0)

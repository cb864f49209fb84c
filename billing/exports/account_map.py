"""The account map: CreditDesk's money accounts → the books' account codes and names.

Three complete defaults (`generic`, a small English chart; `skr03` and `skr04`, the DATEV
standard charts German companies keep), chosen by `CREDITDESK_ACCOUNT_CHART`, and a JSON file
(`CREDITDESK_ACCOUNT_MAP_FILE`) that overrides single accounts of the default (or of the
chart it names) or, with `"chart": "none"`, replaces the defaults altogether:

    {"chart": "skr03",
     "accounts": {"cash:stripe": {"code": "1361", "name": "Stripe Geldtransit"}}}

Only money accounts are mapped: CREDIT-unit lines never go to the books."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.kit.errors import ValidationFailed
from app.settings import Settings
from credits import accounts as acc


class BookAccount(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=r"^[0-9A-Za-z.\-]{1,10}$", description="the account's code")
    name: str = Field(min_length=1, max_length=100, description="its name in the books")


# SKR03: revenue accounts without DATEV's automatic VAT (8200, 2700 …), since the VAT is
# booked on its own line at the sale; the liability is "Erhaltene Anzahlungen".
CHARTS: dict[str, dict[str, BookAccount]] = {
    "generic": {
        acc.CASH_STRIPE: BookAccount(code="1210", name="Stripe Clearing"),
        acc.CASH_OFFLINE: BookAccount(code="1200", name="Bank"),
        acc.DEFERRED: BookAccount(code="2400", name="Deferred Revenue - Support Credits"),
        acc.VAT_PAYABLE: BookAccount(code="2200", name="VAT Payable"),
        acc.REVENUE_SUPPORT: BookAccount(code="4000", name="Support Revenue"),
        acc.REVENUE_BREAKAGE: BookAccount(code="4100", name="Breakage Revenue"),
        acc.REVENUE_REFUNDS: BookAccount(code="4900", name="Refunds to Customers"),
        acc.REVENUE_ADJUSTMENTS: BookAccount(code="4910", name="Revenue Adjustments"),
    },
    "skr03": {
        acc.CASH_STRIPE: BookAccount(code="1360", name="Geldtransit"),
        acc.CASH_OFFLINE: BookAccount(code="1200", name="Bank"),
        acc.DEFERRED: BookAccount(code="1710", name="Erhaltene Anzahlungen auf Bestellungen"),
        acc.VAT_PAYABLE: BookAccount(code="1776", name="Umsatzsteuer 19 %"),
        acc.REVENUE_SUPPORT: BookAccount(code="8200", name="Erlöse"),
        acc.REVENUE_BREAKAGE: BookAccount(code="2700", name="Sonstige Erträge"),
        acc.REVENUE_REFUNDS: BookAccount(code="8700", name="Erlösschmälerungen"),
        acc.REVENUE_ADJUSTMENTS: BookAccount(code="2700", name="Sonstige Erträge"),
    },
    # SKR04, the same choices: no automatic-VAT revenue accounts (4200, 4830 …).
    "skr04": {
        acc.CASH_STRIPE: BookAccount(code="1460", name="Geldtransit"),
        acc.CASH_OFFLINE: BookAccount(code="1800", name="Bank"),
        acc.DEFERRED: BookAccount(code="3250", name="Erhaltene Anzahlungen auf Bestellungen"),
        acc.VAT_PAYABLE: BookAccount(code="3806", name="Umsatzsteuer 19 %"),
        acc.REVENUE_SUPPORT: BookAccount(code="4200", name="Erlöse"),
        acc.REVENUE_BREAKAGE: BookAccount(code="4830", name="Sonstige betriebliche Erträge"),
        acc.REVENUE_REFUNDS: BookAccount(code="4700", name="Erlösschmälerungen"),
        acc.REVENUE_ADJUSTMENTS: BookAccount(code="4830", name="Sonstige betriebliche Erträge"),
    },
}


class AccountMapFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chart: Literal["generic", "skr03", "skr04", "none"] | None = Field(
        default=None, description="the default it builds on (absent: the setting's)"
    )
    accounts: dict[str, BookAccount] = Field(default_factory=dict)


class AccountMapRead(BaseModel):
    chart: Literal["generic", "skr03", "skr04"] | None = Field(
        description="the default it builds on"
    )
    file: str | None = Field(description="the file that overrides it, if any")
    accounts: dict[str, BookAccount] = Field(description="CreditDesk account → books account")


class AccountMap:
    def __init__(self, accounts: dict[str, BookAccount], chart: str | None, file: str | None):
        self.accounts = dict(accounts)
        self.chart = chart
        self.file = file

    def get(self, account: str) -> BookAccount | None:
        return self.accounts.get(account)

    def require(self, accounts: list[str]) -> None:
        """422 naming every account that has no mapping."""
        missing = sorted(a for a in set(accounts) if a not in self.accounts)
        if missing:
            raise ValidationFailed(
                "No books account is mapped for: " + ", ".join(missing)
                + ". Add it to the account map (CREDITDESK_ACCOUNT_MAP_FILE).",
                code="unmapped_account",
                accounts=missing,
            )  # fmt: skip

    def read(self) -> AccountMapRead:
        return AccountMapRead(chart=self.chart, file=self.file, accounts=self.accounts)


class AccountMapError(ValueError):
    pass


_CACHE: dict[tuple[str, str | None, float], AccountMap] = {}


def load_account_map(settings: Settings) -> AccountMap:
    """The map in force: the chart named by the file (or by settings), then the file's
    accounts over it. Re-read when the file changes. AccountMapError when it is bad."""
    path: Path | None = settings.account_map_file
    mtime = 0.0
    if path is not None:
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            raise AccountMapError(f"account map file {path}: {exc.strerror}") from None
    key = (settings.account_chart, str(path) if path else None, mtime)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _load(settings.account_chart, path)
    return found


def _load(chart: str, path: Path | None) -> AccountMap:
    if path is None:
        return AccountMap(CHARTS[chart], chart, None)
    try:
        document = AccountMapFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        raise AccountMapError(f"account map file {path} is not valid: {exc}") from None
    name = document.chart or chart
    base = CHARTS.get(name, {})
    return AccountMap({**base, **document.accounts}, name if base else None, str(path))


__all__ = [
    "CHARTS",
    "AccountMap",
    "AccountMapError",
    "AccountMapRead",
    "BookAccount",
    "load_account_map",
]

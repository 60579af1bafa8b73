"""The one writer of perk bundles and their perks (P-1 … P-4, KZ-1): bundles made with their perks,
tied to the device's IMEI when it ships, each perk moved along the PERK lifecycle with the facts of
its step; read by order, by device, by id (with their holder, for a page of service cases)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from shop.adapters.perk_tables import BundlePerk, DeviceActivation, PerkBundle, ServiceCase
from shop.adapters.stores import OfIds, grouped
from shop.adapters.tables import Order, User, table_of
from shop.domain.errors import NotFound
from shop.domain.machine import Transition
from shop.domain.perks import PERK_CODES
from shop.domain.service_cases import OPEN_STATES

_bundles, _perks, _orders = table_of(PerkBundle), table_of(BundlePerk), table_of(Order)
_cases, _activations, _users = table_of(ServiceCase), table_of(DeviceActivation), table_of(User)
_ADD_BUNDLES = insert(_bundles)
_ADD_PERKS = insert(_perks)
_PERK = select(_perks).where(_perks.c.id == bindparam("b_id"))
_PERK_LOCKED = _PERK.with_for_update()
_BUNDLE = select(_bundles).where(_bundles.c.id == bindparam("b_id"))
_BUNDLES_OF = OfIds(select(_bundles).order_by(_bundles.c.line_id, _bundles.c.unit), _bundles.c.order_id)
_PERKS_OF = OfIds(select(_perks), _perks.c.order_id)
_OF_LINES_LOCKED = (select(_perks).join(_bundles, _bundles.c.id == _perks.c.bundle_id)
                    .where(_bundles.c.line_id.in_(bindparam("b_line_ids", expanding=True)))
                    .order_by(_perks.c.id).with_for_update())
_OF_IMEI_LOCKED = (select(_perks).join(_bundles, _bundles.c.id == _perks.c.bundle_id)
                   .where(_bundles.c.imei == bindparam("b_imei")).order_by(_perks.c.id).with_for_update())
_OF_DEVICE = (select(_perks).join(_bundles, _bundles.c.id == _perks.c.bundle_id)
              .where(_bundles.c.imei == bindparam("b_imei"), _perks.c.code == bindparam("b_code"))
              .order_by(_bundles.c.created_at.desc(), _bundles.c.id).limit(1))
_BUNDLES_OF_IMEI = (select(_bundles).where(_bundles.c.imei == bindparam("b_imei"))
                    .order_by(_bundles.c.created_at, _bundles.c.id))
_ON_LINES_IN = (select(_perks, _bundles.c.line_id).join(_bundles, _bundles.c.id == _perks.c.bundle_id)
                .where(_bundles.c.line_id.in_(bindparam("b_line_ids", expanding=True)),
                       _perks.c.state.in_(bindparam("b_states", expanding=True)))
                .order_by(_bundles.c.line_id, _bundles.c.unit, _perks.c.id))
_WITH_HOLDERS = (select(_perks, _bundles.c.model, _users.c.full_name, _users.c.phone.label("customer_phone"),
                        _users.c.email, _orders.c.delivery)
                 .join(_bundles, _bundles.c.id == _perks.c.bundle_id).join(_orders, _orders.c.id == _perks.c.order_id)
                 .join(_users, _users.c.id == _orders.c.customer_id)
                 .where(_perks.c.id.in_(bindparam("b_ids", expanding=True))))
_IS_DUE = and_(
    or_(and_(_perks.c.state.in_(bindparam("b_unused", expanding=True)), _perks.c.lapses_at < bindparam("b_now")),
        and_(_perks.c.state == bindparam("b_activated"), _perks.c.opens_at <= bindparam("b_now"))),
    ~exists().where(_cases.c.perk_id == _perks.c.id, _cases.c.state.in_([state.value for state in OPEN_STATES])))
"""A perk the clock has a step due for (P-2, T-1). One with a service case still open is left alone:
the claim was judged when the case was opened (T-6), and the case's own steps take the perk's clock as
of then (shop.services.service_cases)."""
_IS_WAITING_BUT_ACTIVATED = and_(
    _perks.c.state == bindparam("b_waiting"),
    exists().where(_bundles.c.id == _perks.c.bundle_id, _activations.c.imei == _bundles.c.imei,
                   _activations.c.activated_at >= _orders.c.placed_at))
"""A perk still waiting for an activation that is recorded since its order was placed (KZ-1): one
reported at the very moment its device shipped is seen by neither transaction; the clock job applies it."""


def _claim(is_due: Any, *columns: Any) -> tuple[Any, Any]:
    """Two statements: up to `b_limit` orders with a perk `is_due`, locked, skipping the orders another
    transaction holds (PostgreSQL); then those orders' perks `is_due`, locked. The orders first, as
    every use case takes them (a perk's timeline entry needs its order), and only orders in the
    skipping statement: a statement skipping rows of two tables keeps the locks it took on the rows
    it skipped, so a second run could stop early while the first passed them by (measured: 2 in 5
    runs of two jobs at once lost a step)."""
    orders = (select(_orders.c.id).where(exists().where(_perks.c.order_id == _orders.c.id, is_due))
              .order_by(_orders.c.id).limit(bindparam("b_limit")).with_for_update(skip_locked=True))
    perks = (select(_perks, *columns).select_from(_perks.join(_orders, _orders.c.id == _perks.c.order_id)
                                                  .join(_bundles, _bundles.c.id == _perks.c.bundle_id))
             .where(_perks.c.order_id.in_(bindparam("b_ids", expanding=True)), is_due)
             .order_by(_perks.c.id).with_for_update(of=_perks))
    return orders, perks


_DUE = _claim(_IS_DUE)
_WAITING_BUT_ACTIVATED = _claim(_IS_WAITING_BUT_ACTIVATED, _bundles.c.imei)
_TIE_IMEI = (update(_bundles).where(and_(_bundles.c.line_id == bindparam("b_line_id"),
                                         _bundles.c.unit == bindparam("b_unit")))
             .values(imei=bindparam("b_imei")))


@dataclass(frozen=True)
class BundleView:
    """A bundle as its order shows it: the row and its perks in the catalogue's order."""

    row: Any
    perks: tuple[Any, ...]


class PerkStore:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add_bundles(self, bundles: Sequence[dict[str, Any]], perks: Sequence[dict[str, Any]]) -> None:
        """New bundles and their perks, one statement a table; a line's unit has one bundle at most
        (the unique key: a confirmation cannot make it twice)."""
        if bundles:
            self._db.execute(_ADD_BUNDLES, list(bundles))
        if perks:
            self._db.execute(_ADD_PERKS, list(perks))

    def get(self, perk_id: str, *, lock: bool = False) -> Row[Any]:
        """The perk (locked when `lock`); 404 when there is none."""
        row = self._db.execute(_PERK_LOCKED if lock else _PERK, {"b_id": perk_id}).one_or_none()
        if row is None:
            raise NotFound("perk_not_found", f"no perk {perk_id}")
        return row

    def bundle(self, bundle_id: str) -> Row[Any]:
        return self._db.execute(_BUNDLE, {"b_id": bundle_id}).one()

    def of_lines(self, line_ids: Collection[int]) -> list[Row[Any]]:
        """Every perk of the bundles of these order lines, locked (a return revokes them: P-3)."""
        if not line_ids:
            return []
        return list(self._db.execute(_OF_LINES_LOCKED, {"b_line_ids": list(line_ids)}))

    def of_imei(self, imei: str) -> list[Row[Any]]:
        """Every perk of the bundles tied to this device, locked (in the order of their ids, as every
        lock of many perks), given in the catalogue's order (its activation opens them: KZ-1)."""
        return sorted(self._db.execute(_OF_IMEI_LOCKED, {"b_imei": imei}), key=_catalogue_order)

    def of_device(self, imei: str, code: str) -> Row[Any] | None:
        """The perk `code` of the bundle tied to this device, not locked (lock it with
        services.perks.lock_perk); None when the shop sold no such device (KZ-4.5 … KZ-4.7: a service
        case under a perk). A device sold again after a return has a bundle each time: the latest one's."""
        return self._db.execute(_OF_DEVICE, {"b_imei": imei, "b_code": code}).one_or_none()
    def bundles_of_imei(self, imei: str) -> list[Row[Any]]:
        """The bundles tied to this device, oldest first (a device back from a failed delivery may
        leave again with another order), not locked: the caller locks the order, then its perks."""
        return list(self._db.execute(_BUNDLES_OF_IMEI, {"b_imei": imei}))

    def on_lines(self, line_ids: Collection[int], states: Collection[str]) -> list[Row[Any]]:
        """The perks in `states` of the bundles of these lines, each with its `line_id`, not locked
        (what a withdrawal lists: redeemed perks, P-3)."""
        if not line_ids:
            return []
        return list(self._db.execute(_ON_LINES_IN, {"b_line_ids": list(line_ids), "b_states": list(states)}))

    def with_holders(self, perk_ids: Collection[str]) -> dict[str, Row[Any]]:
        """These perks by id, not locked, each with what a service case under it shows (KZ-5.1): its
        device's `model`, its customer's `full_name`, `customer_phone` and `email`, and its order's
        `delivery` (its phone): one statement."""
        if not perk_ids:
            return {}
        return {row.id: row for row in self._db.execute(_WITH_HOLDERS, {"b_ids": list(set(perk_ids))})}

    def claim_due(self, *, unused: Collection[str], activated: str, now: datetime, limit: int) -> list[Row[Any]]:
        """The perks the clock has a step due for at `now` (unused and past `lapses_at`, or activated
        and `opens_at` come) of up to `limit` orders, locked with their orders; on PostgreSQL skipping
        orders another transaction holds, so two runs at once never take the same perk."""
        return self._claimed(_DUE, {"b_unused": list(unused), "b_activated": activated, "b_now": now,
                                    "b_limit": limit})

    def claim_waiting_but_activated(self, *, waiting: str, limit: int) -> list[Row[Any]]:
        """The perks still `waiting` whose device has an activation recorded since their order was
        placed, each with its `imei`, of up to `limit` orders, locked with their orders (PostgreSQL:
        skipping orders another transaction holds)."""
        return self._claimed(_WAITING_BUT_ACTIVATED, {"b_waiting": waiting, "b_limit": limit})

    def _claimed(self, claim: tuple[Any, Any], values: dict[str, Any]) -> list[Row[Any]]:
        orders, perks = claim
        ids = list(self._db.execute(orders, values).scalars())
        return list(self._db.execute(perks, {**values, "b_ids": ids})) if ids else []

    def tie_imeis(self, imeis: Mapping[int, Sequence[str]]) -> None:
        """RS-IV.5, P-1: each device of a line that ships is tied to its bundle, in unit order (the
        first IMEI to unit 1 …); lines without bundles change nothing."""
        rows = [{"b_line_id": line_id, "b_unit": unit, "b_imei": imei}
                for line_id, found in imeis.items() for unit, imei in enumerate(found, start=1)]
        if rows:
            self._db.execute(_TIE_IMEI, rows)

    def move(self, perk: Row[Any], transition: Transition, *, now: datetime, **facts: Any) -> Row[Any]:
        """The perk in the transition's destination, with `facts` beside it; the row as written."""
        statement = (update(_perks).where(_perks.c.id == perk.id)
                     .values(state=transition.to_state.value, updated_at=now, **facts).returning(*_perks.c))
        return self._db.execute(statement).one()

    def of_orders(self, order_ids: Collection[str]) -> dict[str, list[BundleView]]:
        """The bundles of these orders with their perks, by order id: two statements."""
        found: dict[str, list[BundleView]] = {}
        perks = grouped(self._db, _PERKS_OF, order_ids, by="bundle_id")
        for bundle in _BUNDLES_OF.rows(self._db, order_ids):
            found.setdefault(bundle.order_id, []).append(
                BundleView(bundle, tuple(sorted(perks.get(bundle.id, []), key=_catalogue_order))))
        return found


def _catalogue_order(perk: Any) -> int:
    return PERK_CODES.index(perk.code) if perk.code in PERK_CODES else len(PERK_CODES)

"""The seed's every date and period (seed 000, the Russian VIP terms, KZ-2 … KZ-4.7), written out
here by hand with the seed's own words, against the catalogue (shop.domain.perks, the conflicts of
shop.domain.perk_conflicts): the catalogue holds exactly these figures, no more, no fewer. The seed is
not read at test time (the project never reads ../shared); this file is the copy to check it by.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date, time

from shop.domain.perk_conflicts import CONFLICTS
from shop.domain.perks import (
    PERK_TERMS, PERKS_2025_09_24, FixedDeadline, MonthsFromPurchase, Perk, perk_terms,
)

BY_2359 = time(23, 59)
"""«до DD.MM.YYYY» without a time is read to the end of that day, as 23:59 (KZ-3 reading, recorded in
the conflict lounge_purchase_window); the seed's «23:59 по местному времени» is Almaty time."""


def catalogue_figures(perks: tuple[Perk, ...]) -> set[tuple[str, str, object, str]]:
    """Every date and period of the catalogue as (perk, what, figure, clause)."""
    figures: set[tuple[str, str, object, str]] = set()
    for perk in perks:
        if (window := perk.purchase_window) is not None:
            figures |= {(perk.code, "bought from", window.first_day, window.clause),
                        (perk.code, "bought until", window.last_day, window.clause)}
        if (wait := perk.opens_after) is not None:
            figures.add((perk.code, "days after the device's activation", wait.days, wait.clause))
        if (deadline := perk.activate_by) is not None:
            figures.add((perk.code, "activate by", (deadline.day, deadline.wall_time), deadline.clause))
        if isinstance(perk.use_by, FixedDeadline):
            figures.add((perk.code, "use by", (perk.use_by.day, perk.use_by.wall_time), perk.use_by.clause))
        elif isinstance(perk.use_by, MonthsFromPurchase):
            figures.add((perk.code, "months from the purchase", perk.use_by.months, perk.use_by.clause))
        if (trial := perk.trial) is not None:
            figures.add((perk.code, "trial months", trial.months, trial.clause))
    return figures


def test_the_catalogue_holds_exactly_the_dates_and_periods_the_seed_states_KZ_2_KZ_3_KZ_4():
    seed = [
        # --- section 2, the list of services ---------------------------------------------------------
        # ii. «Четыре месяца подписки Spotify Premium бесплатно»
        ("spotify", "trial months", 4, "KZ-4.2"),
        # iii. «3-месячный бесплатный пробный период Google AI Pro»
        ("google_ai_pro", "trial months", 3, "KZ-4.3"),
        # iv. «Доступ к YouTube Premium на 3 месяца»
        ("youtube", "trial months", 3, "KZ-4.4"),
        # v. «Расширенная гарантия на 24 месяца»
        ("extended_warranty", "months from the purchase", 24, "KZ-4.5"),
        # vi. «Один бесплатный ремонт экрана в течение 6 месяцев»
        ("screen_repair", "months from the purchase", 6, "KZ-4.6"),
        # vii. «Один внегарантийный ремонт с бесплатной работой мастера в течение 12 месяцев»
        ("free_labour_repair", "months from the purchase", 12, "KZ-4.7"),

        # --- section 3, the terms of the services ---------------------------------------------------
        # lounge: «Доступен только пользователям, купившим устройство до 31.10.2025» — see the conflict
        # lounge_purchase_window below: 4.1's «с 24.09.2025 по 31.10.2025» governs (KZ-3 reading)
        ("lounge", "bought until", date(2025, 10, 31), "KZ-4.1"),
        # lounge: «необходимо активировать её до 31.10.2025»
        ("lounge", "activate by", (date(2025, 10, 31), BY_2359), "KZ-4.1"),
        # lounge: «а использовать – до 25.03.2026»
        ("lounge", "use by", (date(2026, 3, 25), BY_2359), "KZ-4.1"),
        # Spotify: «Четыре месяца подписки Spotify Premium бесплатно»
        ("spotify", "trial months", 4, "KZ-4.2"),
        # Spotify: «Предложение может быть активировано до 08.08.2026 В 11:59 по местному времени» —
        # superseded by 4.2's 23:59 (KZ-3, conflict spotify_deadline below)
        # Google: «Трёхмесячный бесплатный пробный период Google AI Pro»
        ("google_ai_pro", "trial months", 3, "KZ-4.3"),
        # Google: «Предложение необходимо активировать до 31 марта 2026 года, 23:59 по местному времени»
        ("google_ai_pro", "activate by", (date(2026, 3, 31), BY_2359), "KZ-4.3"),
        # YouTube: «Доступ к YouTube Premium на 3 месяца»
        ("youtube", "trial months", 3, "KZ-4.4"),
        # YouTube: «Предложение может быть активировано до 08.08.2026 В 11:59 по местному времени» —
        # superseded by 4.4's 31.08.2026 23:59 (KZ-3, conflict youtube_deadline below)
        # warranty: «действует в течение 24 месяцев с даты первой покупки устройства конечным пользователем»
        ("extended_warranty", "months from the purchase", 24, "KZ-4.5"),
        # screen: «доступен в течение 6 месяцев с даты первой покупки устройства»
        ("screen_repair", "months from the purchase", 6, "KZ-4.6"),
        # screen: «Покупка устройства должна быть совершена до 25.09.2026» (conflict screen_purchase_window)
        ("screen_repair", "bought until", date(2026, 9, 25), "KZ-4.6"),
        # free-labour repair: «доступен в течение 12 месяцев с даты первой покупки устройства»
        ("free_labour_repair", "months from the purchase", 12, "KZ-4.7"),

        # --- 4.1 the lounge -----------------------------------------------------------------------
        # «приобретший устройство в период с 24.09.2025 по 31.10.2025»
        ("lounge", "bought from", date(2025, 9, 24), "KZ-4.1"),
        ("lounge", "bought until", date(2025, 10, 31), "KZ-4.1"),
        # «Услугу необходимо активировать до 31.10.2025, а воспользоваться ей – до 25.03.2026»
        ("lounge", "activate by", (date(2025, 10, 31), BY_2359), "KZ-4.1"),
        ("lounge", "use by", (date(2026, 3, 25), BY_2359), "KZ-4.1"),
        # ii. «Пользователь может активировать услугу Lounge Service через 14 дней после активации устройства»
        ("lounge", "days after the device's activation", 14, "KZ-4.1"),
        # v. «Сервисный код действует до 25.03.2026, поэтому необходимо воспользоваться услугой до этой даты»
        ("lounge", "use by", (date(2026, 3, 25), BY_2359), "KZ-4.1"),

        # --- 4.2 Spotify ---------------------------------------------------------------------------
        # «4.2 Четыре месяца подписки Spotify Premium бесплатно»
        ("spotify", "trial months", 4, "KZ-4.2"),
        # «Необходимо активировать до 8 августа 2026 года, 23:59 по местному времени» (governs: KZ-3)
        ("spotify", "activate by", (date(2026, 8, 8), BY_2359), "KZ-3"),
        # «Вы можете начать пользоваться данной привилегией через 1 день с даты активации устройства»
        ("spotify", "days after the device's activation", 1, "KZ-4.2"),

        # --- 4.3 Google AI Pro ----------------------------------------------------------------------
        # «4.3 Трёхмесячный бесплатный пробный период Google AI Pro»
        ("google_ai_pro", "trial months", 3, "KZ-4.3"),
        # «Предложение необходимо активировать до 31 марта 2026 года, 23:59 по местному времени»
        ("google_ai_pro", "activate by", (date(2026, 3, 31), BY_2359), "KZ-4.3"),

        # --- 4.4 YouTube Premium --------------------------------------------------------------------
        # «4.4 YouTube Premium 3 месяца доступа»
        ("youtube", "trial months", 3, "KZ-4.4"),
        # «Необходимо активировать до 31 августа 2026 года, 23:59 по местному времени» (governs: KZ-3)
        ("youtube", "activate by", (date(2026, 8, 31), BY_2359), "KZ-3"),

        # --- 4.5 the warranty -----------------------------------------------------------------------
        # «при нормальном использовании в течение 24 месяцев с момента покупки («Гарантийный период»)»
        ("extended_warranty", "months from the purchase", 24, "KZ-4.5"),

        # --- 4.6 the screen -------------------------------------------------------------------------
        # «Пользователи, купившие устройство в период с 24.09.2025 по 25.09.2026, могут однократно (1 раз)
        # бесплатно заменить экран в течение первых 6 месяцев с даты покупки»
        ("screen_repair", "bought from", date(2025, 9, 24), "KZ-4.6"),
        ("screen_repair", "bought until", date(2026, 9, 25), "KZ-4.6"),
        ("screen_repair", "months from the purchase", 6, "KZ-4.6"),

        # --- 4.7 the free-labour repair -------------------------------------------------------------
        # «один (1) негарантийный ремонт … с бесплатной оплатой труда в течение двенадцати (12) месяцев
        # с даты покупки Продукта»
        ("free_labour_repair", "months from the purchase", 12, "KZ-4.7"),
    ]
    # Section 3's figures that 4.x overrides, each recorded with its section in the conflicts (KZ-3):
    superseded = {
        # 3: «Доступен только пользователям, купившим устройство до 31.10.2025»
        ("lounge_purchase_window", "3"): "купившим устройство до 31.10.2025",
        ("lounge_purchase_window", "4.1"): "с 24.09.2025 по 31.10.2025",
        # 3: «Предложение может быть активировано до 08.08.2026 В 11:59 по местному времени» (Spotify)
        ("spotify_deadline", "3"): "до 08.08.2026 В 11:59",
        ("spotify_deadline", "4.2"): "до 8 августа 2026 года, 23:59",
        # 3: «Предложение может быть активировано до 08.08.2026 В 11:59 по местному времени» (YouTube)
        ("youtube_deadline", "3"): "до 08.08.2026 В 11:59",
        ("youtube_deadline", "4.4"): "до 31 августа 2026 года, 23:59",
        # 3: «Покупка устройства должна быть совершена до 25.09.2026»
        ("screen_purchase_window", "3"): "должна быть совершена до 25.09.2026",
        ("screen_purchase_window", "4.6"): "с 24.09.2025 по 25.09.2026",
        # 4.1 ii: «через 14 дней после активации устройства» against 3, 4.1: «активировать её до 31.10.2025»
        ("lounge_wait", "4.1 ii"): "через 14 дней после активации устройства",
        ("lounge_wait", "3, 4.1"): "активировать её до 31.10.2025",
    }

    assert catalogue_figures(PERKS_2025_09_24) == set(seed)
    recorded = {(conflict.key, section): words for conflict in CONFLICTS for section, words in conflict.figures}
    assert recorded.keys() == superseded.keys()
    assert all(superseded[key] in recorded[key] for key in superseded), recorded
    # A new kind of figure on a Perk must be added to catalogue_figures and to this list.
    assert {field.name for field in fields(Perk)} == {
        "code", "clause", "benefit", "models", "start", "redemption", "how", "purchase_window",
        "opens_after", "activate_by", "use_by", "trial", "conditions", "exclusions"}
    # The edition applies from the first purchase window's first day, «с 24.09.2025» (4.1, 4.6).
    [terms] = PERK_TERMS
    assert terms.effective_from == date(2025, 9, 24) and terms.effective_until is None
    assert perk_terms(terms.version).perks is PERKS_2025_09_24

"""KZ-3: where the seed's sections disagree, each figure with its section and the decision taken.

REQUIREMENTS.md decides KZ-3 (Spotify, YouTube): the detailed section 4.x governs and, being later,
favours the consumer. The same reading settles the purchase windows that section 3 states with «до».
`lounge_wait` is a conflict REQUIREMENTS.md does not decide; it is recorded with the decision the shop
takes by P-2 (a perk that can never be used is shown as not available, with its reason).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SeedConflict:
    key: str
    perk: str
    figures: tuple[tuple[str, str], ...]
    """(section of the seed, its figure in its own words)."""
    decision: str
    clause: str


CONFLICTS = (
    SeedConflict(
        "spotify_deadline", "spotify",
        (("3", "«может быть активировано до 08.08.2026 В 11:59 по местному времени»"),
         ("4.2", "«Необходимо активировать до 8 августа 2026 года, 23:59 по местному времени»")),
        "4.2 governs: activate by 08.08.2026 23:59 Almaty time (the later, the consumer's).", "KZ-3"),
    SeedConflict(
        "youtube_deadline", "youtube",
        (("3", "«может быть активировано до 08.08.2026 В 11:59 по местному времени»"),
         ("4.4", "«Необходимо активировать до 31 августа 2026 года, 23:59 по местному времени»")),
        "4.4 governs: activate by 31.08.2026 23:59 Almaty time (the later, the consumer's).", "KZ-3"),
    SeedConflict(
        "lounge_purchase_window", "lounge",
        (("3", "«Доступен только пользователям, купившим устройство до 31.10.2025»"),
         ("4.1", "«приобретший устройство в период с 24.09.2025 по 31.10.2025»")),
        "4.1 governs (the KZ-3 reading): bought 24.09.2025 to 31.10.2025, both days included, Almaty "
        "dates; «до 31.10.2025» for activation is read the same way, 31.10.2025 23:59.", "KZ-3"),
    SeedConflict(
        "screen_purchase_window", "screen_repair",
        (("3", "«Покупка устройства должна быть совершена до 25.09.2026»"),
         ("4.6", "«купившие устройство в период с 24.09.2025 по 25.09.2026»")),
        "4.6 governs (the KZ-3 reading): bought 24.09.2025 to 25.09.2026, both days included.", "KZ-3"),
    SeedConflict(
        "lounge_wait", "lounge",
        (("4.1 ii", "«может активировать услугу Lounge Service через 14 дней после активации устройства»"),
         ("3, 4.1", "«необходимо активировать её до 31.10.2025»")),
        "Not decided by REQUIREMENTS.md; decided here by P-2: the lounge opens 14 days after the "
        "device's activation (00:00 Almaty time after the 14th day, T-1) and must be activated by "
        "31.10.2025 23:59. Bought on 17.10.2025 or later, even a device activated on the day of purchase "
        "opens it only after that deadline: the perk is not available (reason "
        "opens_after_activation_deadline, clause KZ-3), never granted unusable. Bought earlier, it lapses "
        "if the device is activated too late to open it in time. The same reading applies to Spotify "
        "(1 day's wait, 08.08.2026 23:59).", "KZ-3"),
)

"""Time zones come from the pinned `tzdata` package, not from the server's zone files (T-5)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

from tests.bench.common import ROOT


def test_zones_come_from_the_pinned_tzdata_not_the_servers_files_T_5(tmp_path: Path):
    """A server whose own zone files are old (here: Almaty at UTC+6, as before 1 March 2024, and
    Belgrade without summer time) still computes Almaty at +5 and Belgrade at +2 in summer."""
    stale = tmp_path / "zoneinfo"
    for key, stand_in in (("Asia/Almaty", "Asia/Dhaka"), ("Europe/Belgrade", "Etc/GMT-1")):
        area, city = key.split("/")
        (stale / area).mkdir(parents=True, exist_ok=True)
        stand_in_area, stand_in_city = stand_in.split("/")
        with resources.files(f"tzdata.zoneinfo.{stand_in_area}").joinpath(stand_in_city).open("rb") as source, \
                (stale / area / city).open("wb") as target:
            shutil.copyfileobj(source, target)
    probe = ("from datetime import datetime, UTC; from shop.domain.markets import MARKETS; "
             "print(*(datetime(2026, 7, 1, tzinfo=UTC).astimezone(info.zone).utcoffset().total_seconds() // 3600 "
             "for info in MARKETS.values()))")
    environment = {**os.environ, "PYTHONTZPATH": str(stale)}
    answer = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=environment, capture_output=True,
                            text=True, check=True)

    assert answer.stdout.split() == ["2.0", "5.0"]  # RS (summer time), KZ


def test_the_stale_zone_files_of_that_test_would_mislead_zoneinfo_itself(tmp_path: Path):
    """The test above proves something: plain `ZoneInfo` on the same stale files says +6."""
    stale = tmp_path / "zoneinfo" / "Asia"
    stale.mkdir(parents=True)
    with resources.files("tzdata.zoneinfo.Asia").joinpath("Dhaka").open("rb") as source, \
            (stale / "Almaty").open("wb") as target:
        shutil.copyfileobj(source, target)
    probe = ("from datetime import datetime, UTC; from zoneinfo import ZoneInfo; "
             "print(datetime(2026, 7, 1, tzinfo=UTC).astimezone(ZoneInfo('Asia/Almaty')).utcoffset())")
    environment = {**os.environ, "PYTHONTZPATH": str(tmp_path / "zoneinfo")}
    answer = subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True,
                            check=True)

    assert answer.stdout.strip() == "6:00:00"

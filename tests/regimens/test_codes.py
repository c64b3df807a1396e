"""The regimens' string codes as enums: each member is its string, in and out."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tme_env.regimens import REGIMENS, AntiPD1Interval, AntiPD1Plan, ChemoPlan, InhibitorTiming
from tme_env.regimens.family import FixedSchedule
from tme_env.regimens.policies import RegimenSpec


def test_a_code_is_its_string():
    code = AntiPD1Interval.Q3W
    assert code == "q3w" and hash(code) == hash("q3w") and AntiPD1Interval("q3w") is code
    assert (str(code), f"{code}", f"{code:>5}", repr(code)) == ("q3w", "q3w", "  q3w", "'q3w'")
    assert json.dumps(code) == '"q3w"'
    assert AntiPD1Interval.NONE.days == float("inf") and AntiPD1Interval.Q6W.days == 42.0


def test_string_arguments_become_members_and_read_as_before():
    s = FixedSchedule(chemo_cycles=4, anti_pd1="q6w", inhibitor="chemo-weeks",
                      inhibitor_dose=0.5)  # fmt: skip
    assert s.anti_pd1 is AntiPD1Interval.Q6W and s.inhibitor is InhibitorTiming.CHEMO_WEEKS
    assert s.name == "chemo4+m/pd1-q6w/inh-chemo-weeks@0.5"
    assert "anti_pd1='q6w', inhibitor='chemo-weeks'" in repr(s)
    back = FixedSchedule(**json.loads(json.dumps(dataclasses.asdict(s))))
    assert back == s and hash(back) == hash(s)
    assert REGIMENS["chemo-then-ici"].anti_pd1 is AntiPD1Plan.AFTER_INDUCTION
    assert RegimenSpec("x", "", "", chemo="metronomic").chemo is ChemoPlan.METRONOMIC


def test_unknown_codes_are_named():
    with pytest.raises(ValueError, match="unknown chemo 'weekly'; valid: none, mtd, induction"):
        RegimenSpec("x", "", "", chemo="weekly")
    with pytest.raises(ValueError, match="unknown anti_pd1 'q2w'; valid: none, concurrent"):
        RegimenSpec("x", "", "", anti_pd1="q2w")
    with pytest.raises(ValueError, match="unknown inhibitor 'daily'; valid: continuous"):
        FixedSchedule(inhibitor="daily")

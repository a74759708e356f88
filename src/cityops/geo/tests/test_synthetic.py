"""The generator, tested in memory on the full district (computed once per session)."""

import re
from collections import Counter

import numpy as np
import pytest
import shapely

from cityops.geo import synthetic
from cityops.geo.geometry import area_m2
from cityops.geo.tests.support import same_region

REL_TOLERANCE = 1e-4  # of the area, for sums of parts: coordinates are rounded to 1e-7° (~1 cm)


def test_every_grid_code_is_14_digits_of_district_street_community_sequence(full_partition):
    assert len(full_partition.grids) > 1000
    for g in full_partition.grids:
        assert re.fullmatch(r"\d{14}", g.code)
        assert g.code.startswith("630102")
        assert g.code[:12] == g.community_code
        assert g.code[6:9] == g.community_code[6:9]
        assert 1 <= int(g.code[12:]) <= 99
    assert len({g.code for g in full_partition.grids}) == len(full_partition.grids)


def test_no_community_holds_more_than_99_grids_and_sequences_are_dense(full_partition):
    per_community = Counter(g.community_code for g in full_partition.grids)
    assert set(per_community) == set(full_partition.communities)
    assert max(per_community.values()) <= 99
    for code, n in per_community.items():
        seqs = sorted(int(g.code[12:]) for g in full_partition.grids if g.community_code == code)
        assert seqs == list(range(1, n + 1))


def test_grids_partition_their_community_without_gaps_or_overlaps(full_partition):
    by_community: dict[str, list] = {}
    for g in full_partition.grids:
        by_community.setdefault(g.community_code, []).append(g.geometry)
    for code, geoms in by_community.items():
        community = full_partition.communities[code]
        assert same_region(shapely.union_all(geoms), community), code
        assert sum(area_m2(x) for x in geoms) == pytest.approx(area_m2(community), rel=REL_TOLERANCE)
        assert all(x.is_valid for x in geoms)


def test_communities_partition_their_street_and_streets_the_district(
    full_partition, street_specs, district_geom
):
    for spec in street_specs:
        parts = [full_partition.communities[c.code] for c in spec.communities]
        street = full_partition.streets[spec.code]
        assert same_region(shapely.union_all(parts), street), spec.code
        assert sum(area_m2(p) for p in parts) == pytest.approx(area_m2(street), rel=REL_TOLERANCE)
    streets = list(full_partition.streets.values())
    assert same_region(shapely.union_all(streets), district_geom)
    assert sum(area_m2(s) for s in streets) == pytest.approx(area_m2(district_geom), rel=REL_TOLERANCE)


def test_streets_and_communities_are_single_polygons(full_partition):
    for geom in [*full_partition.streets.values(), *full_partition.communities.values()]:
        assert geom.geom_type == "Polygon"


def test_built_up_streets_lie_in_the_west_and_towns_take_the_larger_east(full_partition, street_specs):
    west = [full_partition.streets[s.code] for s in street_specs if s.kind == "街道"]
    east = [full_partition.streets[s.code] for s in street_specs if s.kind != "街道"]
    assert max(g.centroid.x for g in west) < min(g.centroid.x for g in east)
    assert sum(area_m2(g) for g in east) > 2 * sum(area_m2(g) for g in west)


def test_grids_are_about_ten_thousand_m2_in_town_and_larger_in_villages(full_partition, street_specs):
    kinds = {c.code: (s.kind, c.kind) for s in street_specs for c in s.communities}
    built_up = [g.area_m2 for g in full_partition.grids if kinds[g.community_code][0] == "街道"]
    villages = [g.area_m2 for g in full_partition.grids if kinds[g.community_code] == ("镇", "村")]
    assert 10_000 <= np.median(built_up) <= 40_000
    assert np.percentile(built_up, 5) >= 9_000
    assert np.median(villages) > 2 * np.median(built_up)


def test_cap_enlarges_grids_instead_of_exceeding_the_sequence(full_partition, street_specs):
    spec = street_specs[0].communities[0]
    grids = synthetic.partition_grids(full_partition.communities[spec.code], spec, "街道", max_grids=12)
    assert 1 <= len(grids) <= 12
    assert sum(g.area_m2 for g in grids) == pytest.approx(
        area_m2(full_partition.communities[spec.code]), rel=1e-3
    )


def test_generation_is_deterministic(full_partition, district_geom, street_specs):
    again = synthetic.generate_partition(district_geom, street_specs, only_streets={"630102002"})
    mine = [g for g in full_partition.grids if g.code.startswith("630102002")]
    assert [g.code for g in again.grids] == [g.code for g in mine]
    assert all(a.geometry.equals_exact(b.geometry, 0) for a, b in zip(again.grids, mine, strict=True))
    assert again.streets["630102002"].equals_exact(full_partition.streets["630102002"], 0)


def test_a_different_seed_gives_a_different_partition(district_geom, street_specs):
    a = synthetic.partition_streets(district_geom, street_specs, seed=1)
    b = synthetic.partition_streets(district_geom, street_specs, seed=2)
    assert not a["630102001"].equals(b["630102001"])

from encoder.training.split import assign_splits, split_of_key


def test_split_is_fixed_and_roughly_80_10_10() -> None:
    splits = assign_splits((str(i), None) for i in range(5000))
    assert splits == assign_splits((str(i), None) for i in reversed(range(5000)))
    share = {s: list(splits.values()).count(s) / 5000 for s in ("train", "val", "test")}
    assert 0.77 < share["train"] < 0.83 and 0.08 < share["val"] < 0.12 and 0.08 < share["test"] < 0.12


def test_identical_photos_never_straddle_splits() -> None:
    items = [(str(i), f"sha{i % 300}") for i in range(3000)]
    splits = assign_splits(items)
    by_photo: dict[str, set[str]] = {}
    for pid, sha in items:
        by_photo.setdefault(sha, set()).add(splits[pid])
    assert all(len(s) == 1 for s in by_photo.values())
    assert splits["0"] == split_of_key("0")

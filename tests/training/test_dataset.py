"""normalgen_training.dataset: validation batches, and pairs read as they are stored."""

import numpy as np
from PIL import Image

from normalgen.imageio import write_normal_map
from normalgen.vectors import angular_error_deg, normals_from_height
from normalgen_training.dataset import PatchDataset, check_pairs, load_pair
from normalgen_training.pairing import find_pairs


def _pair(folder, name, size, photo=None):
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size[0], 0:size[1]].astype(np.float32)
    normals = normals_from_height(np.sin(xx / 5) * 3 + np.cos(yy / 7) * 2)
    write_normal_map(folder / f"{name}_normal.png", normals, convention="opengl", bit_depth=16)
    img = photo if photo is not None else Image.fromarray(np.full(size + (3,), 128, np.uint8))
    img.save(folder / f"{name}_color.{'jpg' if photo is not None else 'png'}", exif=img.getexif())
    return normals


def test_validation_pairs_of_different_sizes_share_one_crop_per_batch(tmp_path):
    _pair(tmp_path, "small", (96, 96))
    _pair(tmp_path, "large", (112, 144))
    pairs, _ = find_pairs([tmp_path])
    x, y = PatchDataset(pairs, patch=256, batch_size=8, augment=False)[0]
    assert x.shape == (2, 96, 96, 3) and y.shape == (2, 96, 96, 3)


def test_a_photo_with_an_exif_rotation_is_read_as_stored_like_its_normal_map(tmp_path):
    # A photo whose pixels follow the relief's x, stored with an EXIF tag saying "turn me".
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (64, 1))
    img = Image.fromarray(np.dstack([ramp] * 3))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    img.info["exif"] = exif.tobytes()
    truth = _pair(tmp_path, "tagged", (64, 64), photo=img)
    pairs, _ = find_pairs([tmp_path])
    good, warnings = check_pairs(pairs, min_side=32)
    assert good == pairs and len(warnings) == 1 and "EXIF rotation is ignored" in warnings[0]
    photo, normals = load_pair(pairs[0])
    assert np.corrcoef(photo[..., 0].ravel(), np.tile(np.arange(64), 64))[0, 1] > 0.99  # not turned
    assert angular_error_deg(normals, truth).max() < 0.1


def test_endless_batches_are_the_epochs_in_order_and_streams_differ(tmp_path):
    for i in range(3):
        _pair(tmp_path, f"p{i}", (64, 64), photo=Image.fromarray(
            np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    pairs, _ = find_pairs([tmp_path])
    ds = PatchDataset(pairs, patch=32, batch_size=2, steps=3, seed=5)
    ds.epoch = 4  # a resumed run starts at its epoch
    made = ds.endless(threads=3)
    got = [next(made) for _ in range(7)]  # two epochs and a step of the third
    ref = PatchDataset(pairs, patch=32, batch_size=2, steps=3, seed=5)
    for k, (x, y) in enumerate(got):
        ref.epoch = 4 + k // 3
        rx, ry = ref[k % 3]
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)
    other = PatchDataset(pairs, patch=32, batch_size=2, steps=3, seed=5, stream=1)
    other.epoch = 4
    assert not np.array_equal(other[0][0], got[0][0])  # another machine's patches


def test_checking_keeps_the_order_skips_bad_pairs_and_fills_the_training_cache(tmp_path, monkeypatch):
    import normalgen_training.dataset as dataset
    from normalgen_training.dataset import PairCache

    for i in range(6):
        _pair(tmp_path, f"p{i}", (48, 48) if i != 4 else (16, 16))
    (tmp_path / "p2_color.png").write_bytes(b"not a png")  # corrupt, between good ones
    pairs, _ = find_pairs([tmp_path])
    cache = PairCache()
    good, warnings = check_pairs(pairs, min_side=32, cache=cache, threads=3)
    assert [p.color.name for p in good] == ["p0_color.png", "p1_color.png", "p3_color.png", "p5_color.png"]
    assert len(warnings) == 2 and "p2_color.png" in warnings[0] and "p4_color.png" in warnings[1]
    assert "smaller than 32 pixels" in warnings[1]

    def no_decoding(*args, **kwargs):
        raise AssertionError("a checked pair was decoded again")

    monkeypatch.setattr(dataset, "load_pair", no_decoding)
    x, y = PatchDataset(good, patch=32, batch_size=4, steps=2, cache=cache)[0]  # all from the cache
    assert x.shape == (4, 32, 32, 3) and np.allclose(np.linalg.norm(y, axis=-1), 1, atol=1e-3)


def test_two_threads_loading_one_pair_keep_one_copy_and_count_its_bytes_once(tmp_path, monkeypatch):
    import threading

    import normalgen_training.dataset as dataset
    from normalgen_training.dataset import PairCache

    _pair(tmp_path, "a", (40, 40))
    pairs, _ = find_pairs([tmp_path])
    both_loading = threading.Barrier(2, timeout=10)
    real_load = dataset.load_pair

    def load_in_step(*args, **kwargs):
        item = real_load(*args, **kwargs)
        both_loading.wait()  # neither thread inserts until both have decoded the pair
        return item

    monkeypatch.setattr(dataset, "load_pair", load_in_step)
    cache, got = PairCache(), []
    threads = [threading.Thread(target=lambda: got.append(cache.get(pairs[0]))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 2 and got[0] is got[1]
    assert cache._bytes == got[0][0].nbytes + got[0][1].nbytes


def test_a_grey_or_black_map_under_a_normal_maps_name_is_skipped_with_the_reason(tmp_path):
    _pair(tmp_path, "good", (40, 40))
    for name, value in (("height", None), ("black", 0)):
        _pair(tmp_path, name, (40, 40))
        grey = np.random.default_rng(0).integers(0, 65536, (40, 40), dtype=np.uint16) if value is None else \
            np.zeros((40, 40), np.uint16)
        Image.fromarray(grey).save(tmp_path / f"{name}_normal.png")
    pairs, _ = find_pairs([tmp_path])
    good, warnings = check_pairs(pairs, min_side=32)
    assert [p.color.name for p in good] == ["good_color.png"]
    assert len(warnings) == 2 and all("cannot be a normal map: it is grey" in w for w in warnings)

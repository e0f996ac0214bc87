from studio.workers.throttle import Throttle


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_latest_mode_keeps_only_the_newest_value_per_interval():
    clock, out = Clock(), []
    throttle = Throttle(out.append, interval=0.05, mode="latest", clock=clock)
    for i in range(100):  # 100 reports within 10 ms
        clock.now = i * 0.0001
        throttle.push(i)
    assert out == [0]
    clock.now = 0.06
    throttle.tick()
    assert out == [0, 99]
    throttle.flush()
    assert out == [0, 99]  # nothing pending: flush emits nothing


def test_batch_mode_delivers_every_value_in_order():
    clock, out = Clock(), []
    throttle = Throttle(out.append, interval=0.05, mode="batch", clock=clock)
    for i in range(1000):
        clock.now = i * 0.001  # 1 s of reports at 1 kHz
        throttle.push({"step": i})
    throttle.flush()
    assert len(out) <= 22  # about 20 emissions per second
    steps = [d["step"] for batch in out for d in batch]
    assert steps == list(range(1000))

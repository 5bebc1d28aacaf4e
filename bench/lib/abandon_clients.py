#!/usr/bin/env python3
"""Clients that leave: N requests to the OpenAI- and Ollama-compatible endpoints, each dropped
(reset or closed) at a random moment, queued or running, streamed or not. Prints one JSON line:
what was sent, when the last client left, and how long the daemon stayed busy after that."""
import json, random, socket, struct, sys, threading, time, urllib.request

host, port, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
max_tokens = int(sys.argv[5]) if len(sys.argv) > 5 else 1000
rng = random.Random(seed)
prompt = "Once upon a time"
kinds = [
    ("/v1/chat/completions", lambda s: {"model": "tiny", "messages": [{"role": "user", "content": prompt}],
                                        "max_tokens": max_tokens, "ignore_eos": True, "stream": s}),
    ("/v1/completions", lambda s: {"model": "tiny", "prompt": prompt, "max_tokens": max_tokens,
                                   "ignore_eos": True, "stream": s}),
    ("/api/generate", lambda s: {"model": "tiny", "prompt": prompt, "stream": s, "ignore_eos": True,
                                 "options": {"num_predict": max_tokens}}),
    ("/api/chat", lambda s: {"model": "tiny", "messages": [{"role": "user", "content": prompt}],
                             "stream": s, "ignore_eos": True, "options": {"num_predict": max_tokens}}),
]

def metrics():
    text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and " " in line:
            k, v = line.rsplit(" ", 1)
            try:
                # A family's labelled series summed under its name.
                name = k.split("{", 1)[0]
                out[name] = out.get(name, 0.0) + float(v)
            except ValueError:
                pass
    return out

left = []
lock = threading.Lock()

def client(i):
    path, body = rng.choice(kinds)
    stream = rng.random() < 0.5
    payload = json.dumps(body(stream)).encode()
    wait = rng.uniform(0.1, 1.5)
    reset = rng.random() < 0.5
    s = socket.create_connection((host, port))
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
    s.settimeout(0.05)
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            if not s.recv(65536):
                break
        except socket.timeout:
            pass
    if reset:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    with lock:
        left.append(time.monotonic())

before = metrics()
threads = []
start = time.monotonic()
for i in range(n):
    t = threading.Thread(target=client, args=(i,))
    t.start()
    threads.append(t)
    time.sleep(rng.uniform(0, 0.1))
for t in threads:
    t.join()
last_left = max(left)
# Busy: until nothing runs and nothing waits.
idle_at = None
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    m = metrics()
    if m.get("tasks_running", 0) == 0 and m.get("queue_depth", 0) == 0:
        idle_at = time.monotonic()
        break
    time.sleep(0.01)
after = metrics()
d = lambda k: after.get(k, 0) - before.get(k, 0)
print(json.dumps({
    "requests": n,
    "canceled": d("tasks_canceled_total"),
    "completed": d("tasks_completed_total"),
    "tokens_generated": d("tokens_out_total"),
    "busy_after_last_client_ms": None if idle_at is None else round((idle_at - last_left) * 1000, 1),
    "duration_s": round(last_left - start, 2),
}))

"""The language model of `ngbench train --model transformer` in JAX, for its training speed
beside the Swift stack: the same architecture, shapes and AdamW step, on random bytes (the
speed does not depend on the text). Run it with `Benchmarks/jax/run`.

Model: byte embedding 256 × width, learned positions, `blocks` pre-LayerNorm blocks
(x + Wo·attention(Wqkv·LN(x)), causal, `heads` heads; x + W2·GELU(W1·LN(x)), exact GELU,
4·width hidden), a final LayerNorm and the 256 logits; softmax cross-entropy averaged over
every token row; AdamW (decoupled weight decay 0.1) on every parameter.
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import optax


def dense(key, inputs, outputs):
    scale = (2.0 / inputs) ** 0.5
    return {"w": scale * jax.random.normal(key, (inputs, outputs), jnp.float32),
            "b": jnp.zeros((outputs,), jnp.float32)}


def layer_norm_params(width):
    return {"g": jnp.ones((width,), jnp.float32), "b": jnp.zeros((width,), jnp.float32)}


def init(key, width, blocks, context):
    keys = jax.random.split(key, 4 * blocks + 2)
    params = {"embedding": 0.02 * jax.random.normal(keys[0], (256, width), jnp.float32),
              "positions": jnp.zeros((context, width), jnp.float32),
              "blocks": [], "final": layer_norm_params(width), "head": dense(keys[1], width, 256)}
    for b in range(blocks):
        k = keys[2 + 4 * b: 6 + 4 * b]
        params["blocks"].append({
            "ln1": layer_norm_params(width), "qkv": dense(k[0], width, 3 * width), "out": dense(k[1], width, width),
            "ln2": layer_norm_params(width), "fc1": dense(k[2], width, 4 * width), "fc2": dense(k[3], 4 * width, width)})
    return params


def layer_norm(p, x, epsilon=1e-5):
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return p["g"] * (x - mean) / jnp.sqrt(variance + epsilon) + p["b"]


def attention(x, heads):
    sequences, length, three_width = x.shape
    width = three_width // 3
    d = width // heads
    q, k, v = jnp.split(x, 3, axis=-1)
    split = lambda t: t.reshape(sequences, length, heads, d).transpose(0, 2, 1, 3)
    q, k, v = split(q), split(k), split(v)
    scores = q @ k.transpose(0, 1, 3, 2) / jnp.sqrt(jnp.float32(d))
    mask = jnp.tril(jnp.ones((length, length), bool))
    scores = jnp.where(mask, scores, -jnp.inf)
    out = jax.nn.softmax(scores, axis=-1) @ v
    return out.transpose(0, 2, 1, 3).reshape(sequences, length, width)


def loss(params, tokens, targets, heads):
    x = params["embedding"][tokens] + params["positions"][None]
    for p in params["blocks"]:
        h = layer_norm(p["ln1"], x) @ p["qkv"]["w"] + p["qkv"]["b"]
        x = x + attention(h, heads) @ p["out"]["w"] + p["out"]["b"]
        h = jax.nn.gelu(layer_norm(p["ln2"], x) @ p["fc1"]["w"] + p["fc1"]["b"], approximate=False)
        x = x + h @ p["fc2"]["w"] + p["fc2"]["b"]
    logits = layer_norm(params["final"], x) @ params["head"]["w"] + params["head"]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--context", type=int, default=128)
    parser.add_argument("--sequences", type=int, default=16)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    arguments = parser.parse_args()

    params = init(jax.random.PRNGKey(1), arguments.width, arguments.blocks, arguments.context)
    optimizer = optax.adamw(1e-3, weight_decay=0.1)
    state = optimizer.init(params)

    @jax.jit
    def step(params, state, tokens, targets):
        value, gradients = jax.value_and_grad(loss)(params, tokens, targets, arguments.heads)
        updates, state = optimizer.update(gradients, state, params)
        return optax.apply_updates(params, updates), state, value

    key = jax.random.PRNGKey(2)
    shape = (arguments.sequences, arguments.context + 1)
    batches = [jax.random.randint(k, shape, 0, 256) for k in jax.random.split(key, arguments.steps + arguments.warmup)]
    for batch in batches[:arguments.warmup]:
        params, state, value = step(params, state, batch[:, :-1], batch[:, 1:])
    value.block_until_ready()
    start = time.perf_counter()
    for batch in batches[arguments.warmup:]:
        params, state, value = step(params, state, batch[:, :-1], batch[:, 1:])
    value.block_until_ready()
    seconds = time.perf_counter() - start
    tokens = arguments.steps * arguments.sequences * arguments.context
    print(json.dumps({"jax": jax.__version__, "devices": str(jax.devices()), "steps": arguments.steps,
                      "ms_per_step": 1e3 * seconds / arguments.steps, "tokens_per_second": tokens / seconds,
                      "final_loss": float(value)}))


if __name__ == "__main__":
    main()

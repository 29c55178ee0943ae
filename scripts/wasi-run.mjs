// Runs a wasm32-wasip1 program under node's WASI (node >= 20): stdin, stdout and stderr
// are the process's, the arguments follow the module's path. For
// scripts/wasm-determinism.sh, which compares the simulation on wasm32 with native.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { argv, env, exit } from "node:process";

const [module, ...args] = argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [module, ...args], env, returnOnExit: true });
const wasm = await WebAssembly.compile(await readFile(module));
const instance = await WebAssembly.instantiate(wasm, wasi.getImportObject());
exit(wasi.start(instance));

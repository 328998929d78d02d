{
  "targets": [
    {
      "target_name": "minefleet_scrypt",
      "sources": [
        "miner/native/scrypt/addon.c",
        "miner/native/scrypt/cpu.c",
        "miner/native/scrypt/romix.c",
        "miner/native/scrypt/scrypt.c",
        "miner/native/scrypt/sha256.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-fno-strict-aliasing", "-Wall", "-Wno-psabi"],
      "cflags!": ["-O2", "-O0"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

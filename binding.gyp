{
  "targets": [
    {
      "target_name": "minefleet_scrypt",
      "sources": [
        "native/scrypt/addon.c",
        "native/scrypt/cpu.c",
        "native/scrypt/romix.c",
        "native/scrypt/scrypt.c",
        "native/scrypt/sha256.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-fno-strict-aliasing", "-Wall", "-Wno-psabi"],
      "cflags!": ["-O2", "-O0"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}

// Package modelstore owns the validator's local model cache: the on-disk layout
// (<dir>/models/<hotkey>/models--<ns>--<name>/snapshots/<commit>/), retrieval of complete
// snapshots, cleanup of unreferenced models after a grace period, disk usage, and the
// directory hash and hotkey-salted secure hash that miners commit on chain.
//
// The hashes are consensus rules: they follow the reference (taoverse's model/storage/disk/utils.py
// and model/utils.py) byte for byte, and are tested against CPython running the reference code
// (testdata/refhash.py).
package modelstore

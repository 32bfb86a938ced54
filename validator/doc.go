// Package validator is the SN9 validator: the loop that discovers miners' models, evaluates them on
// seeded pages, ranks them and sets weights (the reference's neurons/validator.py). This file set
// holds its pure parts: the model tracker, the retry rule, the miner iterator and the top-miner
// scan.
package validator

// Package eval scores one model for one competition, as a validator does (score_model of
// pretrain/validation.py, compute_text_loss of pretrain/eval/method.py): the constraint checks a
// model must pass to take part, the batches of each evaluation task at a block, the sanity check,
// per-task loss, normalization and task weights, and the isolated worker process that runs it all
// so that a hostile model cannot stall or crash the validator. nn keeps the model; eval decides
// what a score is.
package eval

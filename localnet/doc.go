// Package localnet runs the whole subnet on one machine: an embedded chain running the local
// competition, a local hub, a local datasets server on the bundled demo corpus, a population
// of miners that train, push and improve their models, and several validators with different
// stakes whose weights Yuma Consensus turns into incentive. Everything goes through the same
// code as on the real network (the hub's HTTP API, chain.Chain, the datasets-server API);
// only the endpoints are local.
package localnet

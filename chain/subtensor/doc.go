// Package subtensor is the chain.Chain backend for the real Bittensor network: a Substrate
// JSON-RPC client over websocket (go-substrate-rpc-client's gethrpc transport) with its own
// SCALE layer.
//
// It owns:
//   - runtime metadata V14, V15 and V16 (ParseMetadata): the type registry, storage hashers,
//     call indices, signed extensions and runtime-API signatures; the client fetches V15
//     (V14 as a fallback) once per runtime version;
//   - decoding by type id, so runtime-API results, storage values and events are read by
//     field name and survive layout changes between runtimes;
//   - reads: current block, block hashes, the metagraph (NeuronInfoRuntimeApi.get_neurons_lite,
//     SubnetInfoRuntimeApi.get_subnet_state for stake, SubtensorModule.Weights for weight
//     rows, all at one block) and Commitments.CommitmentOf(netuid, hotkey);
//   - writes: SubtensorModule.set_weights, or on subnets with commit-reveal on (the chain's
//     default) SubtensorModule.commit_timelocked_weights, and Commitments.set_commitment,
//     as signed v4 extrinsics with the runtime's signed extensions, submitted with
//     author_submitAndWatchExtrinsic, their outcome read from System.Events of the
//     inclusion block and mapped to chain.ErrNotRegistered / ErrRateLimited / ErrInvalid;
//   - hyperparameters (Tempo, WeightsSetRateLimit, MinAllowedWeights, MaxWeightsLimit,
//     WeightsVersionKey, CommitRevealWeightsEnabled, RevealPeriodEpochs) from storage, and the
//     pending weight commits of a hotkey (TimelockedWeightCommits).
//
// The weight commits' payload, reveal round and ciphertext come from package timelock, which
// the embedded chain shares.
//
// Reads are retried with exponential backoff; submissions are sent once (see
// Client.SetWeights). Not implemented: commit_timelocked_mechanism_weights and extrinsic
// format v5. Responses are bounded by the transport's 5 MiB message limit.
package subtensor

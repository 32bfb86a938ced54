package chain

// Metagraph is a snapshot of one subnet's neurons at a block, as the validator reads it (the fields
// neurons/validator.py and taoverse's metagraph/ read). Slices are indexed by UID and all have
// length N.
type Metagraph struct {
	NetUID uint16
	Block  Block
	N      int

	Hotkeys         []string  // SS58
	Coldkeys        []string  // SS58
	Stake           []float64 // S, in TAO
	ValidatorPermit []bool
	Trust           []float64
	ValidatorTrust  []float64
	Consensus       []float64
	Incentive       []float64 // I
	Dividends       []float64
	Emission        []float64 // in TAO per epoch
	LastUpdate      []Block

	// Weights[uid] is validator uid's last weight row on chain: the uids it set and their raw
	// u16 values, as neurons[uid].weights in bittensor's non-lite metagraph.
	Weights [][]WeightEntry
}

// WeightEntry is one (uid, weight) pair of a validator's weight row.
type WeightEntry struct {
	UID    UID
	Weight uint16
}

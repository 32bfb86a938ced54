package competition

import "github.com/pretrain/pretrain/chain"

// Constants of the reference's constants/__init__.py.
const (
	SyncBlockCadence     chain.Block = 150
	EvalBlockDelay       chain.Block = SyncBlockCadence + 100
	MaxBatchesPerDataset             = 50
	// Alpha is the competition tracker's moving-average weight of the old value.
	Alpha = 0.5
	// Temperature is the softmax temperature of a step's win rates.
	Temperature = 0.01
	// SampleMin is how many uids a competition keeps evaluating from one step to the next.
	SampleMin = 5
	// ModelRetryCadence is the minimum number of blocks between re-evaluations of a top model.
	ModelRetryCadence chain.Block = 300
	// BlockTTS is the block from which the TTS competition and the current epsilons apply.
	BlockTTS chain.Block = 5_177_981
	// WeightsVersionKey is the reference's __spec_version__ (validator 4.6.2), sent with weights.
	WeightsVersionKey = 4062
)

const gib = 1 << 30

// allowedText are the reference's ALLOWED_MODEL_TYPES_2.
var allowedText = []string{
	"MistralForCausalLM", "LlamaForCausalLM", "BartForCausalLM", "FalconForCausalLM",
	"GPTNeoXForCausalLM", "PhiForCausalLM", "GemmaForCausalLM", "Gemma2ForCausalLM",
	"Qwen2ForCausalLM",
}

// textMix is the evaluation mix of B3 and B14 since BLOCK_MULTI_DATASETS.
var textMix = []EvalTask{
	{Name: "FINEWEB", Method: MethodTextLoss, Dataset: DatasetFineWeb, BatchSize: 1, NumPages: 15, Weight: 0.30},
	{Name: "FINEWEB_EDU2", Method: MethodTextLoss, Dataset: DatasetFineWeb2, BatchSize: 1, NumPages: 15, Weight: 0.25},
	{Name: "STACKV2_DEDUP", Method: MethodTextLoss, Dataset: DatasetStack2, BatchSize: 1, NumPages: 30, Weight: 0.35},
	{Name: "PES2OX", Method: MethodTextLoss, Dataset: DatasetPes2oX, BatchSize: 1, NumPages: 2, Weight: 0.05},
	{Name: "FINEMATH_3P", Method: MethodTextLoss, Dataset: DatasetFineMath3P, BatchSize: 1, NumPages: 6, Weight: 0.03},
	{Name: "INFIWEBMATH_3P", Method: MethodTextLoss, Dataset: DatasetWebMath3P, BatchSize: 1, NumPages: 6, Weight: 0.02},
}

func textConstraints(minParams, maxParams, maxBytes int64, eps EpsilonFunc) Constraints {
	return Constraints{
		MinParams: minParams, MaxParams: maxParams,
		SequenceLength:     4096,
		Architectures:      allowedText,
		Tokenizer:          "Xenova/gpt-4",
		TorchDtype:         "bfloat16",
		AttnImplementation: "flash_attention_2",
		EvalBlockDelay:     EvalBlockDelay,
		Epsilon:            eps,
		MaxBytes:           maxBytes,
	}
}

var (
	b3Before  = textConstraints(3_200_000_000, 3_400_000_000, 15*gib, LinearDecay{0.005, 0.0005, 50400})
	b14Before = textConstraints(13_700_000_000, 13_900_000_000, 29*gib, LinearDecay{0.005, 0.0005, 72000})
	b3        = textConstraints(3_200_000_000, 3_400_000_000, 15*gib, LinearDecay{0.005, 0.0001, 14400})
	b14       = textConstraints(13_700_000_000, 13_900_000_000, 29*gib, LinearDecay{0.005, 0.0001, 14400})
	tts       = Constraints{
		MinParams: 350_000_000, MaxParams: 400_000_000,
		Architectures:  []string{"E2TTS"},
		Tokenizer:      "e2tts",
		EvalBlockDelay: EvalBlockDelay,
		Epsilon:        LinearDecay{0.005, 0.0005, 72000},
		MaxBytes:       2 * gib,
	}
	ttsTasks = []EvalTask{{Name: "PPL_SPEECH", Method: MethodWER, Dataset: DatasetPPLSpeech, BatchSize: 1, NumPages: 1, Weight: 1}}
)

// Mainnet is the reference's COMPETITION_SCHEDULE_BY_BLOCK (pretraining 6.0.4). TTS is listed
// so that ids resolve and reward shares add up, but it is marked unsupported (see
// Competition.Unsupported).
var Mainnet = Schedule{
	{Block: 0, Competitions: []Competition{
		{ID: B3Model, Constraints: b3Before, RewardShare: 0.3, Tasks: textMix},
		{ID: B14Model, Constraints: b14Before, RewardShare: 0.7, Tasks: textMix},
	}},
	{Block: BlockTTS, Competitions: []Competition{
		{ID: TTSV0, Constraints: tts, RewardShare: 0.55, Tasks: ttsTasks,
			Unsupported: "text-to-speech models (E2TTS, WER scoring) are not implemented"},
		{ID: B3Model, Constraints: b3, RewardShare: 0.15, Tasks: textMix},
		{ID: B14Model, Constraints: b14, RewardShare: 0.30, Tasks: textMix},
	}},
}

// LocalConstraints are the Local competition's: small GPT-2 or Llama-family models that a CPU
// trains in minutes and evaluates in seconds.
//   - params 100k..200M: from a toy model up to gpt2-124m (124,439,808 parameters);
//   - sequence length 512: long enough to reward context, short enough for CPU evaluation;
//   - gpt2 tokenizer (EOS 50256, max length 1024), as the reference's older competitions;
//   - eval block delay 10 blocks (2 minutes of 12 s blocks) instead of 250, so a demo moves;
//   - epsilon decays from 0.005 to 0.0005 over 600 blocks (2 hours).
var LocalConstraints = Constraints{
	MinParams: 100_000, MaxParams: 200_000_000,
	SequenceLength: 512,
	Architectures:  []string{"GPT2LMHeadModel", "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"},
	Tokenizer:      "gpt2",
	TorchDtype:     "float32",
	EvalBlockDelay: 10,
	Epsilon:        LinearDecay{0.005, 0.0005, 600},
	MaxBytes:       1 * gib,
}

// LocalSchedule runs the Local competition alone, on the local datasets server's corpus.
var LocalSchedule = Schedule{
	{Block: 0, Competitions: []Competition{
		{ID: Local, Constraints: LocalConstraints, RewardShare: 1, Tasks: []EvalTask{
			{Name: "LOCAL_CORPUS", Method: MethodTextLoss, Dataset: DatasetLocal, BatchSize: 1, NumPages: 4, Weight: 1},
		}},
	}},
}

// Schedules are the schedules a validator can run, by name.
var Schedules = map[string]Schedule{"mainnet": Mainnet, "local": LocalSchedule}

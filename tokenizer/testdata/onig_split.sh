#!/bin/sh
# Prints how Oniguruma splits each string of a JSON array read from stdin, one line per
# string: [[gpt2 pieces], [cl100k pieces]], with the patterns as tokenizer.json spells them.
# jq's regular expressions are Oniguruma's; on Debian 12, jq 1.6 links libonig5 6.9.8-1,
# the Oniguruma (and Unicode 14.0 tables) of Hugging Face tokenizers 0.19.
#
#   echo '["x'"'"'ſx", "\ud884\udf50>d"]' | sh onig_split.sh
exec jq -c --arg gpt2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" \
	--arg cl100k "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" \
	'.[] | [[scan($gpt2)], [scan($cl100k)]]'

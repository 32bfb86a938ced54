package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pretrain/pretrain/wallet"
)

type walletCmd struct {
	New  walletNewCmd  `cmd:"" help:"Create a wallet: a coldkey and a hotkey with fresh 12-word mnemonics."`
	Show walletShowCmd `cmd:"" help:"Print a wallet's coldkey and hotkey addresses."`
}

type walletNewCmd struct {
	walletFlags `embed:""`
	HotkeyOnly  bool   `name:"hotkey-only" help:"Create only the hotkey; keep the existing coldkey."`
	Overwrite   bool   `help:"Replace existing key files."`
	PasswordEnv string `name:"coldkey-password-env" placeholder:"VAR" help:"Encrypt the coldkey ($NACL) with the password in environment variable VAR; without it the coldkey is written unencrypted."`
	JSON        bool   `name:"json" help:"Print JSON instead of text. Includes the mnemonics."`
}

func (c *walletNewCmd) Run(ctx context.Context, e *env) error {
	opts := wallet.CreateOptions{HotkeyOnly: c.HotkeyOnly, Overwrite: c.Overwrite}
	if c.PasswordEnv != "" {
		opts.ColdkeyPassword = os.Getenv(c.PasswordEnv)
		if opts.ColdkeyPassword == "" {
			return fmt.Errorf("%w: environment variable %s is empty", errUsage, c.PasswordEnv)
		}
	} else if !c.HotkeyOnly {
		e.log.Warn("coldkey written unencrypted; use --coldkey-password-env for real funds")
	}
	w := c.wallet()
	created, err := w.Create(opts)
	if err != nil {
		return err
	}
	paths, _ := w.Paths()
	out := map[string]string{"hotkey": created.Hotkey.SS58(), "hotkey_mnemonic": created.Hotkey.Mnemonic(), "hotkey_file": paths.Hotkey}
	if created.Coldkey != nil {
		out["coldkey"] = created.Coldkey.SS58()
		out["coldkey_mnemonic"] = created.Coldkey.Mnemonic()
		out["coldkey_file"] = paths.Coldkey
	}
	if c.JSON {
		return printJSON(e, out)
	}
	if created.Coldkey != nil {
		fmt.Fprintf(e.stdout, "coldkey %s  %s\n  mnemonic: %s\n", out["coldkey"], out["coldkey_file"], out["coldkey_mnemonic"])
	}
	fmt.Fprintf(e.stdout, "hotkey  %s  %s\n  mnemonic: %s\n", out["hotkey"], out["hotkey_file"], out["hotkey_mnemonic"])
	fmt.Fprintln(e.stdout, "Write the mnemonics down and keep them secret: they are the keys.")
	return nil
}

type walletShowCmd struct {
	walletFlags `embed:""`
	jsonFlag    `embed:""`
}

func (c *walletShowCmd) Run(ctx context.Context, e *env) error {
	w := c.wallet()
	cold, err := w.ColdkeyPub()
	if err != nil {
		return err
	}
	hot, err := w.HotkeyPair()
	if err != nil {
		return err
	}
	if c.JSON {
		return printJSON(e, map[string]string{"coldkey": cold.SS58(), "hotkey": hot.SS58()})
	}
	fmt.Fprintf(e.stdout, "coldkey %s\nhotkey  %s\n", cold.SS58(), hot.SS58())
	return nil
}

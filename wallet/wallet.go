// Package wallet owns bittensor wallets on disk: the directory layout of btwallet
// (~/.bittensor/wallets/<name>/coldkey, coldkeypub.txt, hotkeys/<hotkey>), its JSON keyfiles
// and "$NACL" encryption, sr25519 keypairs and signatures, and SS58 addresses (prefix 42).
//
// Secrets never leave a Keypair through its String, Format or LogValue methods, and every file
// that holds a secret is written with mode 0600.
package wallet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pretrain/pretrain/internal/atomicfile"
	"github.com/pretrain/pretrain/internal/bounded"
)

// Default wallet and hotkey names, as bittensor's.
const (
	DefaultName   = "default"
	DefaultHotkey = "default"
)

// ErrExists is returned by Create when a key file exists and Overwrite is false.
var ErrExists = errors.New("key file exists")

// Wallet names one wallet and one of its hotkeys under a root directory. The zero Root means
// DefaultRoot, zero names mean "default".
type Wallet struct {
	Root   string // directory holding wallets; "" = ~/.bittensor/wallets
	Name   string // --wallet.name
	Hotkey string // --wallet.hotkey
}

// DefaultRoot returns ~/.bittensor/wallets, bittensor's BT_WALLET_PATH default.
func DefaultRoot() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("wallet root: %w", err)
	}
	return filepath.Join(home, ".bittensor", "wallets"), nil
}

// Validate checks that the names are single path elements.
func (w Wallet) Validate() error {
	for _, n := range []struct{ field, v string }{{"name", w.Name}, {"hotkey", w.Hotkey}} {
		if n.v == "" {
			continue
		}
		if n.v == "." || n.v == ".." || strings.ContainsAny(n.v, `/\`+"\x00") || len(n.v) > 255 {
			return fmt.Errorf("wallet %s %q: not a plain file name", n.field, n.v)
		}
	}
	return nil
}

func (w Wallet) root() (string, error) {
	if w.Root != "" {
		return w.Root, nil
	}
	return DefaultRoot()
}

func (w Wallet) names() (name, hotkey string) {
	name, hotkey = w.Name, w.Hotkey
	if name == "" {
		name = DefaultName
	}
	if hotkey == "" {
		hotkey = DefaultHotkey
	}
	return name, hotkey
}

// Dir returns the wallet's directory, <root>/<name>.
func (w Wallet) Dir() (string, error) {
	if err := w.Validate(); err != nil {
		return "", err
	}
	root, err := w.root()
	if err != nil {
		return "", err
	}
	name, _ := w.names()
	return filepath.Join(root, name), nil
}

// Paths of the wallet's files.
type Paths struct {
	Coldkey, ColdkeyPub, Hotkey, HotkeyPub string
}

// Paths returns the file paths of the wallet's coldkey and of hotkey w.Hotkey.
func (w Wallet) Paths() (Paths, error) {
	dir, err := w.Dir()
	if err != nil {
		return Paths{}, err
	}
	_, hk := w.names()
	return Paths{
		Coldkey:    filepath.Join(dir, "coldkey"),
		ColdkeyPub: filepath.Join(dir, "coldkeypub.txt"),
		Hotkey:     filepath.Join(dir, "hotkeys", hk),
		HotkeyPub:  filepath.Join(dir, "hotkeys", hk+"pub.txt"),
	}, nil
}

// HotkeyPair loads the wallet's hotkey. An encrypted hotkey is an error wrapping ErrEncrypted;
// bittensor writes hotkeys unencrypted by default.
func (w Wallet) HotkeyPair() (*Keypair, error) {
	p, err := w.Paths()
	if err != nil {
		return nil, err
	}
	return ReadKeyfile(p.Hotkey, "")
}

// ColdkeyPub loads the wallet's public coldkey from coldkeypub.txt.
func (w Wallet) ColdkeyPub() (*Keypair, error) {
	p, err := w.Paths()
	if err != nil {
		return nil, err
	}
	return ReadKeyfile(p.ColdkeyPub, "")
}

// Coldkey loads the wallet's coldkey, decrypting it with password if it is "$NACL"
// encrypted (about 6 s and 512 MiB for Argon2). The legacy Ansible-vault and Fernet formats
// are not supported.
func (w Wallet) Coldkey(password string) (*Keypair, error) {
	p, err := w.Paths()
	if err != nil {
		return nil, err
	}
	return ReadKeyfile(p.Coldkey, password)
}

// ReadKeyfile reads and parses the keyfile at path, decrypting "$NACL" files with password.
// An encrypted file with an empty password is an error wrapping ErrEncrypted.
func ReadKeyfile(path, password string) (*Keypair, error) {
	data, err := bounded.ReadFile(path, MaxKeyfileBytes)
	if err != nil {
		return nil, fmt.Errorf("read keyfile: %w", err)
	}
	if isNaCl(data) {
		if password == "" {
			return nil, fmt.Errorf("read keyfile %s: %w", path, ErrEncrypted)
		}
		if data, err = DecryptNaCl(data, password); err != nil {
			return nil, fmt.Errorf("read keyfile %s: %w", path, err)
		}
	} else if strings.HasPrefix(string(data), "$ANSIBLE_VAULT") || strings.HasPrefix(string(data), "gAAAAA") {
		return nil, fmt.Errorf("read keyfile %s: legacy encryption not supported (re-encrypt with btcli)", path)
	}
	k, err := ParseKeyfile(data)
	if err != nil {
		return nil, fmt.Errorf("read keyfile %s: %w", path, err)
	}
	return k, nil
}

// CreateOptions control Create.
type CreateOptions struct {
	// ColdkeyPassword encrypts the coldkey file ("$NACL") when not empty; empty writes it in
	// plain JSON, like btcli's --no-use-password.
	ColdkeyPassword string
	// Overwrite replaces existing key files; otherwise Create fails with ErrExists.
	Overwrite bool
	// HotkeyOnly creates only the hotkey, keeping an existing coldkey.
	HotkeyOnly bool
}

// Created holds the new keys. The mnemonics are secrets: show them to the user once.
type Created struct {
	Coldkey, Hotkey *Keypair
}

// Mnemonic returns k's BIP39 phrase if k was made from one: a secret.
func (k *Keypair) Mnemonic() string { return k.phrase }

// Create makes fresh 12-word coldkey and hotkey mnemonics and writes the wallet's files
// (coldkey, coldkeypub.txt, hotkeys/<hotkey>, hotkeys/<hotkey>pub.txt), each mode 0600 in
// directories of mode 0700. Files are written atomically; none is replaced unless
// opts.Overwrite.
func (w Wallet) Create(opts CreateOptions) (Created, error) {
	p, err := w.Paths()
	if err != nil {
		return Created{}, err
	}
	targets := []string{p.Hotkey, p.HotkeyPub}
	if !opts.HotkeyOnly {
		targets = append(targets, p.Coldkey, p.ColdkeyPub)
	}
	if !opts.Overwrite {
		for _, t := range targets {
			if _, err := os.Lstat(t); err == nil {
				return Created{}, fmt.Errorf("create wallet %s: %w", t, ErrExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return Created{}, fmt.Errorf("create wallet: %w", err)
			}
		}
	}
	var c Created
	if c.Hotkey, err = newKey(); err != nil {
		return Created{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p.Hotkey), 0o700); err != nil {
		return Created{}, fmt.Errorf("create wallet: %w", err)
	}
	if !opts.HotkeyOnly {
		if c.Coldkey, err = newKey(); err != nil {
			return Created{}, err
		}
		data := MarshalKeyfile(c.Coldkey, false)
		if opts.ColdkeyPassword != "" {
			if data, err = EncryptNaCl(data, opts.ColdkeyPassword); err != nil {
				return Created{}, err
			}
		}
		if err := atomicfile.WriteFile(p.Coldkey, data, 0o600); err != nil {
			return Created{}, err
		}
		if err := atomicfile.WriteFile(p.ColdkeyPub, MarshalKeyfile(c.Coldkey, true), 0o600); err != nil {
			return Created{}, err
		}
	}
	if err := atomicfile.WriteFile(p.Hotkey, MarshalKeyfile(c.Hotkey, false), 0o600); err != nil {
		return Created{}, err
	}
	if err := atomicfile.WriteFile(p.HotkeyPub, MarshalKeyfile(c.Hotkey, true), 0o600); err != nil {
		return Created{}, err
	}
	return c, nil
}

func newKey() (*Keypair, error) {
	phrase, err := NewMnemonic()
	if err != nil {
		return nil, err
	}
	return FromMnemonic(phrase)
}

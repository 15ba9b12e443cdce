package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// completionShells are the shells `fjord completion` writes scripts for.
var completionShells = []string{"bash", "zsh"}

// CompletionCommand returns `fjord completion bash|zsh`, which prints a
// script completing the names of commands, subcommands and flags of
// commands (the binary's whole table, this one included), and the values
// of flags that take one of a few words. Topic and group names are not
// completed: that would need a cluster at every Tab.
//
// The script is derived from the commands' own help, which each prints
// for -h without touching anything else, so that it cannot fall out of
// step with the flags the commands register.
func CompletionCommand(commands []Command) Command {
	c := Command{Name: "completion", Summary: "print a bash or zsh completion script"}
	c.Run = func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("fjord completion", "fjord completion bash|zsh\n"+
			"  bash: source <(fjord completion bash), or save it in ~/.local/share/bash-completion/completions/fjord\n"+
			"  zsh:  source <(fjord completion zsh), or save it as _fjord in a directory of $fpath", stderr)
		shells, err := parseArgs(fs, args)
		if err != nil {
			return err
		}
		if len(shells) != 1 || !slices.Contains(completionShells, shells[0]) {
			return usagef(fs, "name one shell: %s", strings.Join(completionShells, " or "))
		}
		tree := describeCommands(append(slices.Clone(commands), c))
		var script string
		if shells[0] == "bash" {
			script = bashCompletion(tree)
		} else {
			script = zshCompletion(tree)
		}
		_, err = io.WriteString(stdout, script)
		return err
	}
	return c
}

// completionNode is a command or subcommand as completion sees it.
type completionNode struct {
	name, summary string
	flags         []string // with their leading "--"
	subcommands   []completionNode
}

// describeCommands asks every command, and every subcommand it lists, for
// its help. The context is cancelled beforehand: a command asked for help
// must not reach anything, and if one tried it would stop at once.
func describeCommands(commands []Command) []completionNode {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	help := func(c Command, args ...string) string {
		var out strings.Builder
		_ = c.Run(ctx, args, strings.NewReader(""), io.Discard, &out)
		return out.String()
	}
	var nodes []completionNode
	for _, c := range commands {
		node := completionNode{name: c.Name, summary: c.Summary}
		if c.Name == "completion" {
			for _, shell := range completionShells {
				node.subcommands = append(node.subcommands, completionNode{name: shell, summary: "print the " + shell + " script"})
			}
			nodes = append(nodes, node)
			continue
		}
		text := help(c, "-h")
		node.subcommands = parseHelpSubcommands(text)
		if len(node.subcommands) == 0 {
			node.flags = parseHelpFlags(text)
		}
		for i, sub := range node.subcommands {
			node.subcommands[i].flags = parseHelpFlags(help(c, sub.name, "-h"))
		}
		nodes = append(nodes, node)
	}
	return nodes
}

// helpFlagLine matches a flag in the flag package's PrintDefaults output.
var helpFlagLine = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9._-]*)`)

// helpListHeaders head the lists of subcommands (fjord's families) and of
// modes (fjord bench) in usage texts.
var helpListHeaders = []string{"subcommands:", "modes:"}

// helpListLine matches "  NAME  summary" in such a list.
var helpListLine = regexp.MustCompile(`^  ([a-z][a-z0-9-]*)\s+(.*)$`)

func parseHelpFlags(text string) []string {
	var flags []string
	scanner := bufio.NewScanner(strings.NewReader(text))
	for scanner.Scan() {
		if m := helpFlagLine.FindStringSubmatch(scanner.Text()); m != nil && !slices.Contains(flags, "--"+m[1]) {
			flags = append(flags, "--"+m[1])
		}
	}
	return flags
}

func parseHelpSubcommands(text string) []completionNode {
	var subs []completionNode
	inList := false
	scanner := bufio.NewScanner(strings.NewReader(text))
	for scanner.Scan() {
		line := scanner.Text()
		if slices.Contains(helpListHeaders, line) {
			inList = true
			continue
		}
		m := helpListLine.FindStringSubmatch(line)
		if !inList || m == nil {
			inList = false
			continue
		}
		subs = append(subs, completionNode{name: m[1], summary: strings.TrimSpace(m[2])})
	}
	return subs
}

// flagValueHints are the words some flags take, by "--flag" for every
// command or "command --flag" for one.
var flagValueHints = []struct{ pattern, words string }{
	{"consume --format", "json"},
	{"produce --format", "text json"},
	{"--isolation", "read_uncommitted read_committed"},
	{"--from", "beginning end"},
	{"--acks", "all 1 0"},
	{"--compression", "none gzip snappy lz4 zstd"},
	{"--security-protocol", "PLAINTEXT SSL SASL_PLAINTEXT SASL_SSL"},
	{"--sasl-mechanism", "PLAIN SCRAM-SHA-256 SCRAM-SHA-512 OAUTHBEARER"},
}

// shellList prints its argument, a list of words. It is printf rather
// than echo, whose options differ between bash and zsh (and a list of flags
// starts with a dash).
const shellList = `printf '%s\n'`

// shellFunctions are the functions both scripts share: they use only
// syntax that bash and zsh read alike. $3 of _fjord_flag_values is the
// binary as typed, which lists the profiles.
func shellFunctions(tree []completionNode) string {
	var b strings.Builder
	b.WriteString("_fjord_commands() {\n    " + shellList + " '")
	for i, n := range tree {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(n.name)
	}
	b.WriteString("'\n}\n\n_fjord_subcommands() {\n    case $1 in\n")
	for _, n := range tree {
		if len(n.subcommands) > 0 {
			fmt.Fprintf(&b, "    %s) %s '%s' ;;\n", n.name, shellList, strings.Join(nodeNames(n.subcommands), " "))
		}
	}
	b.WriteString("    esac\n}\n\n_fjord_flags() {\n    case $1 in\n")
	for _, n := range tree {
		if len(n.flags) > 0 {
			fmt.Fprintf(&b, "    '%s') %s '%s' ;;\n", n.name, shellList, strings.Join(n.flags, " "))
		}
		for _, s := range n.subcommands {
			if len(s.flags) > 0 {
				fmt.Fprintf(&b, "    '%s %s') %s '%s' ;;\n", n.name, s.name, shellList, strings.Join(s.flags, " "))
			}
		}
	}
	b.WriteString("    esac\n}\n\n_fjord_flag_values() {\n    case \"$1 $2\" in\n")
	for _, h := range flagValueHints {
		if strings.HasPrefix(h.pattern, "--") {
			fmt.Fprintf(&b, "    *' %s') %s '%s' ;;\n", h.pattern, shellList, h.words)
		} else {
			fmt.Fprintf(&b, "    '%s') %s '%s' ;;\n", h.pattern, shellList, h.words)
		}
	}
	b.WriteString(`    *' --profile') "$3" profile list --names 2>/dev/null ;;
    *) return 1 ;;
    esac
}

_fjord_args() {
    case "$1 $2" in
    'profile use'|'profile show'|'profile delete') "$3" profile list --names 2>/dev/null ;;
    *) return 1 ;;
    esac
}

_fjord_is_subcommand() {
    local s
    for s in $(_fjord_subcommands "$1"); do
        [[ $2 == "$s" ]] && return 0
    done
    return 1
}
`)
	return b.String()
}

func nodeNames(nodes []completionNode) []string {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.name
	}
	return names
}

// commandWordLoop finds cmd and sub among the words before the cursor;
// first is the index of the first word after the binary's name. A word
// counts only if it is a known name, so that flag values are skipped.
func commandWordLoop(first, words, cursor string) string {
	return fmt.Sprintf(`    local cmd='' sub='' word i
    for ((i = %s; i < %s; i++)); do
        word=${%s[i]}
        if [[ -z $cmd ]]; then
            [[ " $(_fjord_commands) " == *" $word "* ]] && cmd=$word
        elif [[ -z $sub ]] && _fjord_is_subcommand "$cmd" "$word"; then
            sub=$word
        fi
    done
`, first, cursor, words)
}

func bashCompletion(tree []completionNode) string {
	var b strings.Builder
	b.WriteString(`# bash completion for fjord, printed by "fjord completion bash".
# Load it in this shell with: source <(fjord completion bash)
# or in every shell: fjord completion bash > ~/.local/share/bash-completion/completions/fjord

`)
	b.WriteString(shellFunctions(tree))
	b.WriteString(`
_fjord() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} values
`)
	b.WriteString(commandWordLoop("1", "COMP_WORDS", "COMP_CWORD"))
	b.WriteString(`    if [[ $prev == -* ]] && values=$(_fjord_flag_values "$cmd" "$prev" "${COMP_WORDS[0]}"); then
        COMPREPLY=($(compgen -W "$values" -- "$cur"))
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_fjord_flags "$cmd${sub:+ $sub}")" -- "$cur"))
        return
    fi
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$(_fjord_commands)" -- "$cur"))
        return
    fi
    local subs
    subs=$(_fjord_subcommands "$cmd")
    if [[ -n $subs && -z $sub ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi
    if values=$(_fjord_args "$cmd" "$sub" "${COMP_WORDS[0]}"); then
        COMPREPLY=($(compgen -W "$values" -- "$cur"))
    fi
}

complete -o default -F _fjord fjord
`)
	return b.String()
}

func zshCompletion(tree []completionNode) string {
	var b strings.Builder
	b.WriteString(`#compdef fjord
# zsh completion for fjord, printed by "fjord completion zsh".
# Load it in this shell with: source <(fjord completion zsh)
# or in every shell: fjord completion zsh > "${fpath[1]}/_fjord"

`)
	b.WriteString(shellFunctions(tree))
	b.WriteString("\n_fjord_described() {\n    case $1 in\n")
	fmt.Fprintf(&b, "    '') %s %s ;;\n", shellList, zshDescriptions(tree))
	for _, n := range tree {
		if len(n.subcommands) > 0 {
			fmt.Fprintf(&b, "    %s) %s %s ;;\n", n.name, shellList, zshDescriptions(n.subcommands))
		}
	}
	b.WriteString(`    esac
}

_fjord() {
    local cur=${words[CURRENT]} prev=${words[CURRENT-1]} values
    local -a described
`)
	b.WriteString(commandWordLoop("2", "words", "CURRENT"))
	b.WriteString(`    if [[ $prev == -* ]] && values=$(_fjord_flag_values "$cmd" "$prev" "${words[1]}"); then
        compadd -- ${=values}
        return
    fi
    if [[ $cur == -* ]]; then
        compadd -- ${=$(_fjord_flags "$cmd${sub:+ $sub}")}
        return
    fi
    if [[ -z $sub ]]; then
        described=(${(f)"$(_fjord_described "$cmd")"})
        if (( ${#described} )); then
            _describe -t commands 'fjord command' described
            return
        fi
    fi
    if values=$(_fjord_args "$cmd" "$sub" "${words[1]}"); then
        compadd -- ${=values}
        return
    fi
    _files
}

if [[ ${funcstack[1]} == _fjord ]]; then
    _fjord "$@"
else
    compdef _fjord fjord
fi
`)
	return b.String()
}

// zshDescriptions quotes "name:summary" words for _describe.
func zshDescriptions(nodes []completionNode) string {
	words := make([]string, len(nodes))
	for i, n := range nodes {
		words[i] = shellQuote(n.name + ":" + n.summary)
	}
	return strings.Join(words, " ")
}

// shellQuote single-quotes s for bash and zsh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

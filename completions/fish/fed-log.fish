# fish completion for fed-log(1)

# Bundles: *.fed files, and directories to find them in.
set -l bundles '(__fish_complete_path (commandline -ct | string replace -r -- "^-[^=]*=" "") | string match -er -- "(?:\.fed|/)\t")'
complete -c fed-log -f
complete -c fed-log -l json -d 'Print the rows as JSON'
complete -c fed-log -l plot -x -a 'accuracy loss bits_per_byte samples contributors epsilon' -d 'Print a gnuplot script plotting a figure per round'
complete -c fed-log -s T -l testers -x -a $bundles -d 'Name the testers who signed reports'
complete -c fed-log -s h -l help -d 'Print usage and exit'
complete -c fed-log -l version -d 'Print the version and exit'
complete -c fed-log -a $bundles -d 'Folder or bundle'

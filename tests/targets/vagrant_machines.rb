# frozen_string_literal: true

# Loads a Vagrantfile with a stand-in for Vagrant.configure and prints, as JSON, the machines
# it defines: name, box, hostname, private_network address and netmask, VirtualBox memory and
# CPUs, and the synced folders it sets. Needs only Ruby, no Vagrant and no VirtualBox.
#
#   ruby tests/targets/vagrant_machines.rb [VAGRANTFILE]      (default: ./Vagrantfile)
#
# A Vagrantfile that raises makes this exit 1 with the message on stderr.

require "json"

# Records every setting made on it; the few calls that take a block or arguments are kept.
class VagrantRecorder
  attr_reader :settings, :networks, :providers, :synced_folders, :machines

  def initialize
    @settings = {}
    @networks = []
    @providers = {}
    @synced_folders = []
    @machines = {}
    @children = Hash.new { |hash, key| hash[key] = VagrantRecorder.new }
  end

  def define(name, _options = {})
    machine = (@machines[name.to_s] ||= VagrantRecorder.new)
    yield machine if block_given?
  end

  def network(type, **options)
    @networks << options.merge(type: type.to_s)
  end

  def provider(name, **_options)
    provider = (@providers[name.to_s] ||= VagrantRecorder.new)
    yield provider if block_given?
  end

  def synced_folder(host, guest, **options)
    @synced_folders << options.merge(host: host, guest: guest)
  end

  def method_missing(name, *args)
    if name.to_s.end_with?("=") && args.size == 1
      @settings[name.to_s.chomp("=")] = args.first
    elsif args.empty?
      @children[name.to_s]
    else
      super
    end
  end

  def respond_to_missing?(_name, _include_private = false)
    true
  end

  def vm
    @children["vm"]
  end
end

module Vagrant
  @configs = []

  class << self
    attr_reader :configs

    def configure(version)
      raise ArgumentError, "Vagrant.configure(#{version.inspect}): only \"2\" is known here" unless version.to_s == "2"

      config = VagrantRecorder.new
      yield config
      @configs << config
    end
  end
end

vagrantfile = File.expand_path(ARGV.fetch(0, "Vagrantfile"))
begin
  load vagrantfile
rescue StandardError => e
  warn "#{vagrantfile}: #{e.class}: #{e.message}"
  exit 1
end

machines = Vagrant.configs.flat_map do |config|
  config.vm.machines.map do |name, machine|
    vm = machine.vm
    private_networks = vm.networks.select { |network| network[:type] == "private_network" }
    virtualbox = vm.providers.fetch("virtualbox", VagrantRecorder.new).settings
    {
      name: name,
      box: vm.settings["box"],
      hostname: vm.settings["hostname"],
      private_networks: private_networks.map { |network| network.slice(:ip, :netmask) },
      memory: virtualbox["memory"],
      cpus: virtualbox["cpus"],
      synced_folders: vm.synced_folders + config.vm.synced_folders
    }
  end
end
puts JSON.pretty_generate(machines)

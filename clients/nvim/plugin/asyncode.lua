-- asyncode: commands and <Plug> mappings only; everything else loads on first use.
if vim.g.loaded_asyncode then
  return
end
vim.g.loaded_asyncode = true

if vim.fn.has('nvim-0.7') ~= 1 then
  vim.notify('asyncode needs Neovim 0.7 or later', vim.log.levels.ERROR)
  return
end

local function a()
  return require('asyncode')
end

local cmd = vim.api.nvim_create_user_command

cmd('AsyncodeRun', function(o)
  if o.range > 0 then
    a().run(o.line1, o.line2)
  else
    a().run()
  end
end, { range = true, desc = 'asyncode: run the lines, or the statement under the cursor' })
cmd('AsyncodeRunCell', function()
  a().run_cell()
end, { desc = 'asyncode: run the # %% cell under the cursor' })
cmd('AsyncodeRunFile', function()
  a().run_file()
end, { desc = 'asyncode: run the buffer as a module' })
cmd('AsyncodeInterrupt', function()
  a().interrupt()
end, { desc = 'asyncode: interrupt the running code' })
cmd('AsyncodeRestart', function()
  a().restart()
end, { desc = 'asyncode: restart the session (an empty namespace)' })
cmd('AsyncodeOutput', function()
  a().output()
end, { desc = 'asyncode: show or hide the output window' })
cmd('AsyncodeVariables', function()
  a().variables()
end, { desc = "asyncode: the session's variables" })
cmd('AsyncodeInspect', function()
  a().inspect()
end, { desc = 'asyncode: signature and docstring of the name under the cursor' })
cmd('AsyncodeClear', function()
  a().clear()
end, { desc = 'asyncode: remove inline output and diagnostics of this buffer' })
cmd('AsyncodeStop', function()
  a().stop()
end, { desc = 'asyncode: stop the daemon' })

vim.keymap.set('n', '<Plug>(AsyncodeRunOperator)', function()
  vim.o.operatorfunc = "v:lua.require'asyncode'.operator"
  return 'g@'
end, { expr = true, silent = true, desc = 'asyncode: run {motion}' })
vim.keymap.set('n', '<Plug>(AsyncodeRun)', '<Cmd>AsyncodeRun<CR>', { silent = true })
vim.keymap.set('x', '<Plug>(AsyncodeRun)', ':AsyncodeRun<CR>', { silent = true })
vim.keymap.set('n', '<Plug>(AsyncodeRunCell)', '<Cmd>AsyncodeRunCell<CR>', { silent = true })
vim.keymap.set('n', '<Plug>(AsyncodeInterrupt)', '<Cmd>AsyncodeInterrupt<CR>', { silent = true })

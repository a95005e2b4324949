/* board.c: STM32F746G-DISCO (STM32F746NG, Cortex-M7, 1 MB flash, 320 KB SRAM).
 *
 * Clocks: 25 MHz HSE crystal -> PLL (M 25, N 432, P 2) = 216 MHz SYSCLK with over-drive and
 * 7 flash wait states; AHB 216 MHz, APB1 54 MHz, APB2 108 MHz. When the HSE or the PLL does
 * not start the board stays on the 16 MHz HSI and the baud rates follow.
 * Host link: USART1, PA9 TX / PA10 RX (AF7), wired to the ST-LINK virtual COM port, 115200 8N1;
 * received bytes go through the RXNE interrupt into a ring buffer, so nothing is lost while the
 * model runs. DIN MIDI: USART6, PC6 TX (AF8, Arduino D1), 31250 8N1, through the usual
 * 220-ohm/5-pin DIN circuit. Cycles: DWT->CYCCNT at the CPU clock.
 */
#include "board.h"
#include "cortexm.h"
#include "board_stm32.h"

#define RCC_BASE 0x40023800u
#define RCC_CR FE_REG32(RCC_BASE + 0x00u)
#define RCC_PLLCFGR FE_REG32(RCC_BASE + 0x04u)
#define RCC_CFGR FE_REG32(RCC_BASE + 0x08u)
#define RCC_AHB1ENR FE_REG32(RCC_BASE + 0x30u)
#define RCC_APB1ENR FE_REG32(RCC_BASE + 0x40u)
#define RCC_APB2ENR FE_REG32(RCC_BASE + 0x44u)
#define PWR_CR1 FE_REG32(0x40007000u)
#define PWR_CSR1 FE_REG32(0x40007004u)
#define FLASH_ACR FE_REG32(0x40023C00u)


#define USART1_BASE 0x40011000u
#define USART6_BASE 0x40011400u
#define USART_CR1(b) FE_REG32((b) + 0x00u)
#define USART_BRR(b) FE_REG32((b) + 0x0Cu)
#define USART_ISR(b) FE_REG32((b) + 0x1Cu)
#define USART_ICR(b) FE_REG32((b) + 0x20u)
#define USART_RDR(b) FE_REG32((b) + 0x24u)
#define USART_TDR(b) FE_REG32((b) + 0x28u)
#define USART_ISR_ORE (1u << 3)
#define USART_ISR_RXNE (1u << 5)
#define USART_ISR_TXE (1u << 7)
#define USART_CR1_UE (1u << 0)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_RXNEIE (1u << 5)

#define NVIC_ISER1 FE_REG32(0xE000E104u)
#define USART1_IRQN 37u
#define N_IRQS 98u
#define SCB_CCR FE_REG32(0xE000ED14u)
#define SCB_ICIALLU FE_REG32(0xE000EF50u)

#define HSI_HZ 16000000u
#define PLL_HZ 216000000u
#define HOST_BAUD 115200u
#define DIN_BAUD 31250u

const char board_name[] = "stm32f746-disco";
const uint8_t board_counts_instructions = 0u;
const uint32_t board_tick_hz = PLL_HZ;

static uint32_t cpu_hz = HSI_HZ;

void USART1_IRQHandler(void);

typedef void (*fe_vector_t)(void);

static void irq_dispatch(void);

/* Every external interrupt enters irq_dispatch, which reads the active number from IPSR. */
#define V2 irq_dispatch, irq_dispatch
#define V8 V2, V2, V2, V2
#define V32 V8, V8, V8, V8
__attribute__((section(".vectors_irq"), used)) const fe_vector_t fe_irq_vectors[N_IRQS] = {
    V32, V32, V32, V2,
};

static void irq_dispatch(void)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    if (ipsr == 16u + USART1_IRQN) {
        USART1_IRQHandler();
    }
}

/* 216 MHz from the 25 MHz HSE; returns the resulting SYSCLK. */
static uint32_t clock_init(void)
{
    RCC_APB1ENR |= 1u << 28;         /* PWR */
    PWR_CR1 |= 3u << 14;             /* voltage scale 1 */
    RCC_CR |= 1u << 16;              /* HSEON */
    if (!stm32_wait(&RCC_CR, 1u << 17, 1u << 17)) {
        return HSI_HZ;
    }
    RCC_PLLCFGR = 25u | (432u << 6) | (0u << 16) | (1u << 22) | (9u << 24);
    RCC_CR |= 1u << 24;              /* PLLON */
    if (!stm32_wait(&RCC_CR, 1u << 25, 1u << 25)) {
        return HSI_HZ;
    }
    PWR_CR1 |= 1u << 16;             /* over-drive on */
    if (!stm32_wait(&PWR_CSR1, 1u << 16, 1u << 16)) {
        return HSI_HZ;
    }
    PWR_CR1 |= 1u << 17;             /* over-drive switch */
    if (!stm32_wait(&PWR_CSR1, 1u << 17, 1u << 17)) {
        return HSI_HZ;
    }
    FLASH_ACR = 7u | (1u << 8) | (1u << 9); /* 7 wait states, prefetch, ART */
    RCC_CFGR = (RCC_CFGR & ~0xFCF3u) | (5u << 10) | (4u << 13); /* APB1 /4, APB2 /2 */
    RCC_CFGR = (RCC_CFGR & ~3u) | 2u;                            /* SYSCLK = PLL */
    if (!stm32_wait(&RCC_CFGR, 2u << 2, 2u << 2)) {
        return HSI_HZ;
    }
    return PLL_HZ;
}

static void usart_init(uint32_t base, uint32_t pclk, uint32_t baud, uint32_t extra)
{
    USART_CR1(base) = 0u;
    USART_BRR(base) = (pclk + baud / 2u) / baud; /* oversampling by 16 */
    USART_CR1(base) = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | extra;
}

void board_init(void)
{
    SCB_VTOR = 0x08000000u;
    SCB_ICIALLU = 0u;
    __asm volatile("dsb\n\tisb" ::: "memory");
    SCB_CCR |= 1u << 17; /* instruction cache */
    cpu_hz = clock_init();
    uint32_t apb2 = cpu_hz == PLL_HZ ? cpu_hz / 2u : cpu_hz;
    RCC_AHB1ENR |= (1u << 0) | (1u << 2); /* GPIOA, GPIOC */
    RCC_APB2ENR |= (1u << 4) | (1u << 5); /* USART1, USART6 */
    stm32_pin_af(STM32_GPIOA_BASE, 9u, 7u);
    stm32_pin_af(STM32_GPIOA_BASE, 10u, 7u);
    stm32_pin_af(STM32_GPIOC_BASE, 6u, 8u);
    usart_init(USART1_BASE, apb2, HOST_BAUD, USART_CR1_RXNEIE);
    usart_init(USART6_BASE, apb2, DIN_BAUD, 0u);
    stm32_cycles_start();
    NVIC_ISER1 = 1u << (USART1_IRQN - 32u);
    fe_enable_irq();
}

void USART1_IRQHandler(void)
{
    uint32_t isr = USART_ISR(USART1_BASE);
    if (isr & USART_ISR_ORE) {
        USART_ICR(USART1_BASE) = USART_ISR_ORE;
    }
    while (USART_ISR(USART1_BASE) & USART_ISR_RXNE) {
        uint8_t b = (uint8_t)USART_RDR(USART1_BASE);
        stm32_rx_push(b);
    }
}

static void usart_write(uint32_t base, const uint8_t *data, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        while ((USART_ISR(base) & USART_ISR_TXE) == 0u) {
        }
        USART_TDR(base) = data[i];
    }
}

void board_host_write(const uint8_t *data, size_t n)
{
    usart_write(USART1_BASE, data, n);
}

void board_din_write(const uint8_t *data, size_t n)
{
    usart_write(USART6_BASE, data, n);
}
